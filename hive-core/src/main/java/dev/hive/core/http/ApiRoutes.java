package dev.hive.core.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.App;
import dev.hive.api.AppSpec;
import dev.hive.api.ClusterHealth;
import dev.hive.api.CommandStatus;
import dev.hive.api.HiveEvent;
import dev.hive.api.Instance;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.Node;
import dev.hive.core.http.ApiServer.Request;
import dev.hive.core.http.ApiServer.Response;
import dev.hive.core.manifest.KubernetesManifests;
import dev.hive.core.node.LocalCluster;
import dev.hive.core.state.AppSpecCodec;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The routes of the REST API. The field names here are what the CLI and scripts read: keep them
 * stable.
 */
final class ApiRoutes {
  private final LocalCluster cluster;
  private final ObjectMapper mapper;

  ApiRoutes(LocalCluster cluster, ObjectMapper mapper) {
    this.cluster = cluster;
    this.mapper = mapper;
  }

  void register(ApiServer api) {
    String healthRole = api.security().openHealth() ? ApiServer.OPEN : "read";
    api.route("GET", "/api/v1/health", healthRole, r -> health());
    api.route("GET", "/health", healthRole, r -> health());
    api.route("GET", "/api/v1/nodes", r -> ok(nodes()));
    api.route("GET", "/api/v1/node", r -> ok(nodeInfo()));
    api.route("GET", "/api/v1/nodes/{id}", r -> ok(nodeInfo(r.params().get("id"))));
    api.route("POST", "/api/v1/nodes/{id}/drain", "admin", this::drain);
    api.route("GET", "/api/v1/apps", r -> ok(apps()));
    api.route("POST", "/api/v1/apps", this::deploy);
    api.route("POST", "/api/v1/apply", r -> apply(r, KubernetesManifests.Accept.ANY));
    for (String prefix : List.of("/v1", "/api/v1")) {
      // Beemesh's routes: a Deployment to the stateless one, a StatefulSet to the stateful one.
      api.route("POST", prefix + "/workloads/stateless", r -> apply(r, KubernetesManifests.Accept.STATELESS));
      api.route("POST", prefix + "/workloads/stateful", r -> apply(r, KubernetesManifests.Accept.STATEFUL));
    }
    api.route("GET", "/api/v1/apps/{name}", r -> ok(app(cluster.apps().require(r.params().get("name")))));
    api.route("DELETE", "/api/v1/apps/{name}", this::delete);
    api.route("POST", "/api/v1/apps/{name}/scale", this::scale);
    api.route("POST", "/api/v1/apps/{name}/restart", r -> ok(app(cluster.apps().require(r.params().get("name")).restart())));
    api.route("GET", "/api/v1/apps/{name}/instances", r -> ok(instances(cluster.apps().require(r.params().get("name")).instances())));
    api.route("GET", "/api/v1/instances", this::listInstances);
    api.route("GET", "/api/v1/instances/{id}", r -> ok(instance(cluster.instance(r.params().get("id")))));
    api.route("GET", "/api/v1/instances/{id}/logs", this::logs);
    api.route("GET", "/api/v1/events", r -> ok(events()));
    api.route("GET", "/api/v1/cluster/token", "admin", r -> {
      ObjectNode o = mapper.createObjectNode();
      o.put("token", cluster.joinToken().orElseThrow(() -> new dev.hive.api.NotFoundException(
          "this node holds no join token: it runs alone (start it with --port) or joined without one")));
      return ok(o);
    });
    api.route("POST", "/api/v1/cluster/join", "admin", this::join);
    api.route("GET", "/api/v1/commands/{id}", r -> ok(commandStatus(r.params().get("id"))));
    api.route("GET", "/api/v1/operator/raft/configuration", r -> ok(consensusConfiguration()));
  }

  private Response ok(JsonNode body) {
    return new Response(200, body);
  }

  private Response health() {
    ClusterHealth health = cluster.health();
    ObjectNode body = mapper.createObjectNode();
    body.put("healthy", health.healthy());
    body.put("node", cluster.localNode().id());
    ObjectNode checks = body.putObject("checks");
    health.checks().forEach(checks::put);
    return new Response(health.healthy() ? 200 : 503, body);
  }

  private ArrayNode nodes() {
    ArrayNode array = mapper.createArrayNode();
    // The instances once for all nodes: each time asks every member, and one that is cut off but
    // not yet known dead costs its timeout (3 s): once per node, listing five nodes took 15 s.
    Map<String, Long> instances = instancesByNode();
    cluster.nodes().forEach(n -> array.add(node(n, instances)));
    return array;
  }

  private Map<String, Long> instancesByNode() {
    return cluster.instances().stream().collect(java.util.stream.Collectors.groupingBy(Instance::node, java.util.stream.Collectors.counting()));
  }

  private ObjectNode node(Node n) {
    return node(n, instancesByNode());
  }

  private ObjectNode node(Node n, Map<String, Long> instancesByNode) {
    ObjectNode o = mapper.createObjectNode();
    o.put("id", n.id()).put("name", n.name()).put("address", n.address()).put("cpus", n.cpus()).put("memoryBytes", n.memoryBytes());
    ObjectNode labels = o.putObject("labels");
    n.labels().forEach(labels::put);
    n.runtimes().forEach(o.putArray("runtimes")::add);
    new java.util.TreeSet<>(n.taints()).forEach(o.putArray("taints")::add);
    o.put("draining", n.draining());
    o.put("startedAt", n.startedAt().toString()).put("local", n.local()).put("state", n.state().name()).put("role", n.role().name())
        .put("lastSeen", n.lastSeen().toString());
    o.put("instances", instancesByNode.getOrDefault(n.id(), 0L));
    // Every node's load, as membership gossip brought it: cpu and memory in use (0..1), load average.
    ObjectNode load = o.putObject("load");
    cluster.loadOf(n.id()).forEach((k, v) -> load.put(k.substring("load.".length()), v));
    return o;
  }

  /** The consensus group, as Nomad's and Consul's `operator raft list-peers` show it. */
  private ObjectNode consensusConfiguration() {
    ObjectNode o = mapper.createObjectNode();
    String leader = cluster.leaderId();
    ArrayNode servers = o.putArray("servers");
    for (dev.hive.core.consensus.RaftCommandLog.Peer p : cluster.consensusConfiguration()) {
      servers.addObject().put("id", p.id()).put("address", p.address()).put("voter", p.voter()).put("leader", p.id().equals(leader));
    }
    return o;
  }

  private ObjectNode nodeInfo() {
    ObjectNode o = node(cluster.localNode());
    o.set("details", mapper.valueToTree(cluster.nodeDetails()));
    cluster.discoveryDetails().forEach((k, v) -> {
      if (k.equals("multiaddrs")) {
        java.util.Arrays.stream(v.split(",")).filter(s -> !s.isEmpty()).forEach(o.withArray("multiaddrs")::add);
      } else {
        o.put(k, v);
      }
    });
    return o;
  }

  private ObjectNode nodeInfo(String id) {
    Node local = cluster.localNode();
    if (id.equals(local.id()) || id.equals(local.name()) || id.equals("local")) {
      return nodeInfo();
    }
    return cluster.nodes().stream()
        .filter(n -> n.id().equals(id) || n.name().equals(id))
        .findFirst()
        .map(this::node)
        .orElseThrow(() -> new dev.hive.api.NotFoundException("there is no node '" + id + "'; `hive node ls` lists them"));
  }

  private ArrayNode apps() {
    ArrayNode array = mapper.createArrayNode();
    cluster.apps().list().forEach(a -> array.add(app(a)));
    return array;
  }

  private ObjectNode app(App app) {
    AppSpec spec = app.spec();
    ObjectNode o = AppSpecCodec.toJson(mapper, spec);
    List<Instance> instances = app.instances();
    o.put("instances", instances.size());
    o.put("healthyInstances", instances.stream().filter(Instance::healthy).count());
    o.put("generation", cluster.generation(app.name()));
    dev.hive.core.state.AppRecord record = cluster.appRecord(app.name());
    o.put("pending", record.slots().values().stream().filter(s -> !s.assigned()).count());
    o.put("pendingReason", record.pendingReason());
    return o;
  }

  private Response drain(Request r) {
    JsonNode body = r.body().length == 0 ? mapper.createObjectNode() : r.json(mapper);
    if (!body.isObject() || (body.has("enable") && !body.get("enable").isBoolean())) {
      throw new dev.hive.api.InvalidSpecException("enable", "expected {\"enable\": true} to drain or {\"enable\": false} to end the drain");
    }
    return ok(node(cluster.drain(r.params().get("id"), body.path("enable").asBoolean(true))));
  }

  private Response join(Request r) {
    JsonNode body = r.json(mapper);
    JsonNode hosts = body.get("hosts");
    if (hosts == null || !hosts.isArray() || hosts.isEmpty()) {
      throw new InvalidSpecException("hosts", "expected a non-empty array of host[:port]");
    }
    if (body.hasNonNull("token") && !cluster.joinToken().map(t -> t.equals(body.get("token").asText())).orElse(false)) {
      throw new InvalidSpecException("token", "this node belongs to a cluster with another join token; to join that cluster, start a node on a fresh data dir with --seeds and --token");
    }
    List<String> list = new java.util.ArrayList<>();
    for (JsonNode h : hosts) {
      if (!h.isTextual()) {
        throw new InvalidSpecException("hosts", "'" + h + "' is not a string host[:port]");
      }
      list.add(h.asText());
    }
    for (String h : list) {
      try {
        dev.hive.api.Hive.builder().seeds(List.of(h)); // validates host[:port]
      } catch (InvalidSpecException e) {
        throw new InvalidSpecException("hosts", e.reason());
      }
    }
    Map<String, String> results = cluster.join(list);
    ObjectNode o = mapper.createObjectNode();
    list.forEach(o.putArray("joining")::add);
    ArrayNode report = o.putArray("hosts");
    results.forEach((host, result) -> report.addObject().put("host", host).put("result", result));
    return ok(o);
  }

  private ObjectNode commandStatus(String id) {
    CommandStatus status = cluster.commandStatus(id);
    ObjectNode o = mapper.createObjectNode();
    o.put("requestId", status.requestId()).put("state", status.state().name());
    if (status.state() != CommandStatus.State.UNKNOWN) {
      o.put("logIndex", status.logIndex());
    }
    if (status.state() == CommandStatus.State.REFUSED) {
      o.put("reason", status.reason());
    }
    return o;
  }

  private Response deploy(Request r) {
    AppSpec spec = AppSpecCodec.fromJson(r.json(mapper));
    return new Response(201, applied(cluster.apps().deploy(spec, r.writeOptions()), r));
  }

  /**
   * The answer to a write that applied: the app as it is now, or, when another write deleted it
   * in between, that this one applied. Never an error: the caller must not read "refused".
   */
  private ObjectNode applied(App app, Request r) {
    try {
      return app(app);
    } catch (dev.hive.api.NotFoundException e) {
      return mapper.createObjectNode().put("name", app.name()).put("requestId", r.requestId()).put("applied", true)
          .put("note", "applied; the app was deleted since");
    }
  }

  /**
   * Applies a Kubernetes manifest: every app is checked against what runs before any is touched,
   * so a file with one bad or conflicting workload changes nothing.
   */
  private Response apply(Request r, KubernetesManifests.Accept accept) {
    String type = r.contentType().toLowerCase(java.util.Locale.ROOT);
    if (!(type.startsWith("application/yaml") || type.startsWith("application/x-yaml") || type.startsWith("text/yaml"))) {
      throw new InvalidSpecException("Content-Type", "'" + r.contentType() + "' is not YAML; send the manifest with Content-Type: application/yaml");
    }
    KubernetesManifests.Result manifest = KubernetesManifests.read(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8), accept);
    Map<String, String> actions = new java.util.LinkedHashMap<>();
    for (AppSpec spec : manifest.apps()) {
      Optional<App> existing = cluster.apps().get(spec.name());
      if (existing.isEmpty()) {
        actions.put(spec.name(), "created");
        continue;
      }
      AppSpec current = existing.get().spec();
      AppSpec sameReplicas = spec.toBuilder().replicas(current.replicas()).runtime(current.runtime()).build();
      if (sameReplicas.equals(current)) {
        actions.put(spec.name(), spec.replicas() == current.replicas() ? "unchanged" : "scaled");
      } else {
        throw new dev.hive.api.ConflictException("app '" + spec.name() + "' already runs with another spec; Hive changes only replicas in place: "
            + "remove it (hive app rm --name " + spec.name() + ") and apply again. Nothing in this file was applied");
      }
    }
    ObjectNode out = mapper.createObjectNode();
    ArrayNode apps = out.putArray("apps");
    for (AppSpec spec : manifest.apps()) {
      String action = actions.get(spec.name());
      App app = switch (action) {
        case "created" -> cluster.apps().deploy(spec);
        case "scaled" -> cluster.apps().require(spec.name()).scale(spec.replicas());
        default -> cluster.apps().require(spec.name());
      };
      ObjectNode a = app(app);
      a.put("action", action);
      apps.add(a);
    }
    manifest.warnings().forEach(out.putArray("warnings")::add);
    return new Response(actions.containsValue("created") ? 201 : 200, out);
  }

  private Response delete(Request r) {
    String name = r.params().get("name");
    cluster.apps().delete(name, r.writeOptions());
    ObjectNode o = mapper.createObjectNode();
    o.put("deleted", name);
    return ok(o);
  }

  private Response scale(Request r) {
    JsonNode body = r.json(mapper);
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!field.equals("replicas")) {
        throw new InvalidSpecException(field, "unknown field; scale takes {\"replicas\": N}");
      }
    }
    JsonNode replicas = body.get("replicas");
    if (replicas == null || !replicas.isIntegralNumber() || !replicas.canConvertToInt()) {
      throw new InvalidSpecException("replicas", "expected a whole number, got " + replicas);
    }
    App app = cluster.apps().require(r.params().get("name"));
    return ok(applied(app.scale(replicas.asInt(), r.writeOptions()), r));
  }

  private Response listInstances(Request r) {
    String app = r.query().get("app");
    List<Instance> instances = app == null ? cluster.instances() : cluster.apps().require(app).instances();
    return ok(instances(instances));
  }

  private ArrayNode instances(List<Instance> instances) {
    ArrayNode array = mapper.createArrayNode();
    instances.forEach(i -> array.add(instance(i)));
    return array;
  }

  private ObjectNode instance(Instance i) {
    ObjectNode o = mapper.createObjectNode();
    o.put("id", i.id()).put("app", i.app()).put("ordinal", i.ordinal()).put("node", i.node());
    o.put("state", i.state().name()).put("healthy", i.healthy());
    if (i.pid().isPresent()) {
      o.put("pid", i.pid().getAsLong());
    } else {
      o.putNull("pid");
    }
    ArrayNode hostPorts = o.putArray("hostPorts");
    i.hostPorts().values().forEach(hostPorts::add);
    ObjectNode ports = o.putObject("ports");
    i.hostPorts().forEach(ports::put);
    o.put("restarts", i.restarts());
    o.put("startedAt", i.startedAt().map(Object::toString).orElse(null));
    if (i.exitCode().isPresent()) {
      o.put("exitCode", i.exitCode().getAsInt());
    } else {
      o.putNull("exitCode");
    }
    o.put("reason", i.reason()).put("runtime", i.runtime());
    return o;
  }

  private Response logs(Request r) {
    String id = r.params().get("id");
    int tail = 100;
    String text = r.query().get("tail");
    if (text != null) {
      try {
        tail = Integer.parseInt(text);
      } catch (NumberFormatException e) {
        throw new InvalidSpecException("tail", "'" + text + "' is not a number of lines");
      }
    }
    List<String> lines = cluster.logs(id, tail);
    ObjectNode o = mapper.createObjectNode();
    o.put("id", id);
    lines.forEach(o.putArray("lines")::add);
    return ok(o);
  }

  private ArrayNode events() {
    ArrayNode array = mapper.createArrayNode();
    for (HiveEvent e : cluster.recentEvents()) {
      ObjectNode o = array.addObject();
      o.put("time", e.time().toString()).put("type", e.type().name()).put("app", e.app()).put("instance", e.instanceId());
      o.put("state", e.state() == null ? null : e.state().name()).put("message", e.message());
    }
    return array;
  }
}
