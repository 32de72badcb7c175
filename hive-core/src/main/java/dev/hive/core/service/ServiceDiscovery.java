package dev.hive.core.service;

import dev.hive.api.HiveConfig;
import dev.hive.api.NodeState;
import dev.hive.core.cluster.ClusterNode;
import dev.hive.core.cluster.Member;
import dev.hive.core.reconcile.InstanceRecord;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.NodeRecord;
import dev.hive.spi.ProviderConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's part in service discovery: it keeps the catalog current (its own endpoints after every
 * reconcile pass; the other members' as they push them), pushes its own to every live member when
 * they change and, every sync interval, to those that have not taken them ({@link EndpointPushes}),
 * and runs the proxy and the DNS server on the catalog.
 *
 * <p>Settings: {@code hive.dns.port} (-1 off, the default when embedded; the daemon's
 * {@code --dns-port} sets it), {@code hive.dns.domain} ({@code hive}), {@code hive.dns.ttl} (5s),
 * {@code hive.dns.address} and {@code hive.proxy.address} (the bind address),
 * {@code hive.proxy.balancing} (round-robin or least-connections), {@code hive.proxy.enabled}
 * (true), {@code hive.services.sync-interval} (2s).
 */
public final class ServiceDiscovery implements AutoCloseable {
  static final String ENDPOINTS_TOPIC = "hive.endpoints";
  private static final Logger log = LoggerFactory.getLogger(ServiceDiscovery.class);

  private final ServiceCatalog catalog;
  private final ServiceProxy proxy;
  private final ServiceDns dns;
  private final String domain;
  private final String proxyAddress;
  private final Duration syncInterval;
  private final EndpointPushes pushes;
  private volatile ClusterNode clusterNode;

  private ServiceDiscovery(String nodeId, ServiceCatalog catalog, ServiceProxy proxy, ServiceDns dns, String domain, String proxyAddress, Duration syncInterval) {
    this.catalog = catalog;
    this.proxyAddress = proxyAddress;
    this.proxy = proxy;
    this.dns = dns;
    this.domain = domain;
    this.syncInterval = syncInterval;
    this.pushes = new EndpointPushes(nodeId);
  }

  /**
   * Starts the proxy and DNS server as configured.
   *
   * @throws dev.hive.api.UnavailableException if the DNS port cannot be bound
   * @throws dev.hive.api.InvalidSpecException if a setting is malformed
   */
  public static ServiceDiscovery start(HiveConfig config, ProviderConfig settings, String nodeId, Supplier<ClusterState> state) {
    ServiceCatalog catalog = new ServiceCatalog(nodeId, config.clock());
    ServiceProxy proxy = null;
    String proxyAddress = settings.setting("hive.proxy.address").orElse(config.bindAddress());
    if (Boolean.parseBoolean(settings.setting("hive.proxy.enabled").orElse("true"))) {
      proxy = new ServiceProxy(catalog, proxyAddress,
          ServiceProxy.Balancing.parse(settings.setting("hive.proxy.balancing").orElse("round-robin")), config.clock());
      catalog.onChange(proxy::sync);
    }
    String domain = settings.setting("hive.dns.domain").orElse("hive");
    int dnsPort = port(settings, "hive.dns.port", -1);
    ServiceDns dns = null;
    if (dnsPort >= 0) {
      try {
        dns = ServiceDns.start(catalog, node -> Optional.ofNullable(state.get().nodes().get(node)).map(NodeRecord::address), domain,
            settings.duration("hive.dns.ttl", Duration.ofSeconds(5)).toSeconds(), settings.setting("hive.dns.address").orElse(config.bindAddress()), dnsPort);
        log.info("DNS for *.{} on port {}", domain, dns.port());
      } catch (RuntimeException e) {
        if (proxy != null) {
          proxy.close();
        }
        throw e;
      }
    }
    return new ServiceDiscovery(nodeId, catalog, proxy, dns, domain, proxyAddress, settings.duration("hive.services.sync-interval", Duration.ofSeconds(2)));
  }

  /** Joins the cluster's exchange of endpoints. */
  public void attach(ClusterNode node) {
    this.clusterNode = node;
    node.handle(ENDPOINTS_TOPIC, (from, topic, payload) -> {
      catalog.accept(ServiceCatalog.decode(payload));
      return catalog.encodeLocal();
    });
  }

  public Duration syncInterval() {
    return syncInterval;
  }

  /** After a reconcile pass: the services of the state, and this node's endpoints; pushed when they changed. */
  public void update(ClusterState state, NodeRecord self, List<InstanceRecord> records) {
    catalog.define(state);
    if (catalog.publishLocal(ServiceCatalog.localEndpoints(self.id(), self.address(), state, records))) {
      push();
    }
  }

  /**
   * Every sync interval: forget the gone, and push to the live members that have not taken this
   * node's current endpoints (one that joined, came back, or missed a push).
   */
  public void sync() {
    ClusterNode node = clusterNode;
    if (node == null) {
      return;
    }
    java.util.Map<String, NodeState> states = new java.util.HashMap<>();
    node.members().forEach(m -> states.put(m.id(), m.state()));
    catalog.forget(states, syncInterval.multipliedBy(5));
    push();
  }

  private void push() {
    ClusterNode node = clusterNode;
    if (node == null) {
      return;
    }
    long version = catalog.localVersion();
    byte[] mine = catalog.encodeLocal();
    for (Member m : pushes.due(node.members(), version)) {
      node.transport().request(m.peer(), ENDPOINTS_TOPIC, mine, Duration.ofSeconds(2)).whenComplete((reply, error) -> {
        pushes.done(m.id(), version, error == null);
        if (error != null) {
          log.debug("endpoints not pushed to {}: {}", m.id(), error.getMessage());
          return;
        }
        try {
          catalog.accept(ServiceCatalog.decode(reply));
        } catch (RuntimeException e) {
          log.warn("member {} answered a malformed endpoint list: {}", m.id(), e.getMessage());
        }
      });
    }
  }

  /** Returns the catalog of services and their healthy endpoints. */
  public ServiceCatalog catalog() {
    return catalog;
  }

  /** Returns this node's proxy, unless hive.proxy.enabled is false. */
  public Optional<ServiceProxy> proxy() {
    return Optional.ofNullable(proxy);
  }

  /** Returns this node's DNS server, when hive.dns.port is set. */
  public Optional<ServiceDns> dns() {
    return Optional.ofNullable(dns);
  }

  /** Returns the DNS domain, e.g. {@code hive}. */
  public String domain() {
    return domain;
  }

  /** Returns the address the proxy binds. */
  public String proxyAddress() {
    return proxyAddress;
  }

  private static int port(ProviderConfig settings, String key, int fallback) {
    String text = settings.setting(key).orElse(null);
    if (text == null) {
      return fallback;
    }
    try {
      int port = Integer.parseInt(text.trim());
      if (port >= -1 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new dev.hive.api.InvalidSpecException(key, "'" + text + "' is not a port; use 1-65535, 0 for any free port, or -1 for none");
  }

  @Override
  public void close() {
    if (dns != null) {
      dns.close();
    }
    if (proxy != null) {
      proxy.close();
    }
  }
}
