package dev.hive.core.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NodeState;
import dev.hive.core.reconcile.InstanceRecord;
import dev.hive.core.reconcile.Reconciler;
import dev.hive.core.state.AppRecord;
import dev.hive.core.state.ClusterState;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

/**
 * The healthy endpoints of every service, as this node knows them: its own instances, read after
 * each reconcile pass, and each other member's, as that member last pushed them. Only HEALTHY
 * instances (or RUNNING ones of apps without a check) that are not draining are endpoints, so DNS
 * and the proxy never hand out an instance that is starting, failing or about to stop.
 */
public final class ServiceCatalog {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?");

  /** What one node last published: a version that only grows, and its endpoints. */
  private record Published(long version, long receivedAtMillis, List<ServiceEndpoint> endpoints) {}

  /** A decoded push from another node. */
  public record Update(String node, long version, List<ServiceEndpoint> endpoints) {}

  private final String nodeId;
  private final Clock clock;
  private final Map<String, Published> byNode = new ConcurrentHashMap<>();
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, ServiceDefinition> definitions = Map.of();
  private long localVersion;

  public ServiceCatalog(String nodeId, Clock clock) {
    this.nodeId = nodeId;
    this.clock = clock;
  }

  /** Calls {@code listener} after the services or their endpoints changed. */
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  /** Takes the services from the cluster state; returns true if they changed. */
  public boolean define(ClusterState state) {
    Map<String, ServiceDefinition> next = new TreeMap<>();
    for (AppRecord app : state.apps().values()) {
      if (app.spec().service() != null) {
        next.put(app.spec().service(), ServiceDefinition.of(app.spec()));
      }
    }
    if (next.equals(definitions)) {
      return false;
    }
    definitions = Map.copyOf(next);
    changed();
    return true;
  }

  /** Returns the services, by name. */
  public Map<String, ServiceDefinition> definitions() {
    return new TreeMap<>(definitions);
  }

  /** Returns the service named {@code name}, if the cluster has it. */
  public Optional<ServiceDefinition> definition(String name) {
    return Optional.ofNullable(definitions.get(name));
  }

  /**
   * Returns this node's endpoints: its instances that are ready for traffic, at the host port of
   * their app's first port.
   */
  public static List<ServiceEndpoint> localEndpoints(String nodeId, String host, ClusterState state, List<InstanceRecord> records) {
    List<ServiceEndpoint> endpoints = new ArrayList<>();
    for (InstanceRecord r : records) {
      AppRecord app = state.apps().get(r.app);
      if (app == null || app.spec().service() == null || !Reconciler.healthy(r, app.spec())) {
        continue;
      }
      ServiceDefinition def = ServiceDefinition.of(app.spec());
      Integer port = r.hostPorts.get(def.targetPortName());
      if (port != null) {
        endpoints.add(new ServiceEndpoint(def.name(), app.name(), r.id, nodeId, host, port));
      }
    }
    endpoints.sort(Comparator.comparing(ServiceEndpoint::instance));
    return List.copyOf(endpoints);
  }

  /** Replaces this node's own endpoints; returns true if they changed (and should be pushed). */
  public synchronized boolean publishLocal(List<ServiceEndpoint> endpoints) {
    Published current = byNode.get(nodeId);
    if (current != null && current.endpoints().equals(endpoints)) {
      return false;
    }
    // Versions start at the clock so a restarted node's first push outranks what it sent before.
    localVersion = Math.max(localVersion + 1, clock.millis());
    byNode.put(nodeId, new Published(localVersion, clock.millis(), List.copyOf(endpoints)));
    changed();
    return true;
  }

  /** Takes another node's push, unless an equal or newer one from it is already known. */
  public void accept(Update update) {
    if (update.node().equals(nodeId)) {
      return;
    }
    boolean[] changed = {false};
    byNode.compute(update.node(), (node, known) -> {
      if (known != null && known.version() >= update.version()) {
        return new Published(known.version(), clock.millis(), known.endpoints());
      }
      changed[0] = known == null || !known.endpoints().equals(update.endpoints());
      return new Published(update.version(), clock.millis(), update.endpoints());
    });
    if (changed[0]) {
      changed();
    }
  }

  /**
   * Drops what other nodes published when membership holds them DEAD or LEFT, or does not list
   * them and they have not pushed for {@code unlistedMaxAge} (a push can come before membership
   * lists its sender). A listed, live node's endpoints stay however long ago they came: it pushes
   * only when they change, and membership, not a refresh, says whether it is alive.
   */
  public void forget(Map<String, NodeState> members, Duration unlistedMaxAge) {
    long oldest = clock.millis() - unlistedMaxAge.toMillis();
    boolean removed = byNode.entrySet().removeIf(e -> {
      if (e.getKey().equals(nodeId)) {
        return false;
      }
      NodeState state = members.get(e.getKey());
      return state == null ? e.getValue().receivedAtMillis() < oldest : state == NodeState.DEAD || state == NodeState.LEFT;
    });
    if (removed) {
      changed();
    }
  }

  /** Returns the version of this node's endpoints: it grows with every change. */
  public synchronized long localVersion() {
    return localVersion;
  }

  /** Returns the endpoints of {@code service} across the cluster, ordered by instance. */
  public List<ServiceEndpoint> endpoints(String service) {
    ServiceDefinition def = definitions.get(service);
    if (def == null) {
      return List.of();
    }
    List<ServiceEndpoint> result = new ArrayList<>();
    for (Published p : byNode.values()) {
      for (ServiceEndpoint e : p.endpoints()) {
        // An endpoint of an app that no longer provides the service (deleted, redeployed) is not one.
        if (e.service().equals(service) && e.app().equals(def.app())) {
          result.add(e);
        }
      }
    }
    result.sort(Comparator.comparing(ServiceEndpoint::instance));
    return result;
  }

  /** Returns this node's push: its id, version and endpoints. */
  public synchronized byte[] encodeLocal() {
    Published mine = byNode.get(nodeId);
    ObjectNode o = JSON.createObjectNode();
    o.put("node", nodeId).put("version", mine == null ? 0 : mine.version());
    ArrayNode array = o.putArray("endpoints");
    if (mine != null) {
      for (ServiceEndpoint e : mine.endpoints()) {
        array.addObject().put("service", e.service()).put("app", e.app()).put("instance", e.instance()).put("host", e.host()).put("port", e.port());
      }
    }
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode endpoints", e);
    }
  }

  /**
   * Decodes another node's push.
   *
   * @throws InvalidSpecException if it is not one: malformed JSON, a missing field, a bad port or name
   */
  public static Update decode(byte[] bytes) {
    JsonNode o;
    try {
      o = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new InvalidSpecException("endpoints", "malformed push: " + e.getMessage());
    }
    if (o == null || !o.path("node").isTextual() || !o.path("version").canConvertToLong() || !o.path("endpoints").isArray()) {
      throw new InvalidSpecException("endpoints", "a push needs node (text), version (number) and endpoints (array)");
    }
    String node = o.get("node").asText();
    List<ServiceEndpoint> endpoints = new ArrayList<>();
    for (JsonNode e : o.get("endpoints")) {
      String service = e.path("service").asText("");
      int port = e.path("port").asInt(-1);
      String host = e.path("host").asText("");
      if (!LABEL.matcher(service).matches() || port < 1 || port > 65535 || host.isEmpty() || !e.path("instance").isTextual()
          || !e.path("app").isTextual()) {
        throw new InvalidSpecException("endpoints", "malformed endpoint from " + node + ": " + e);
      }
      endpoints.add(new ServiceEndpoint(service, e.get("app").asText(), e.get("instance").asText(), node, host, port));
    }
    endpoints.sort(Comparator.comparing(ServiceEndpoint::instance));
    return new Update(node, o.get("version").asLong(), List.copyOf(endpoints));
  }

  private void changed() {
    listeners.forEach(Runnable::run);
  }
}
