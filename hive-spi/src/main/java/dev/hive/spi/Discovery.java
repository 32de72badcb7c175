package dev.hive.spi;

/**
 * Finds the other nodes of a cluster (seeds, UDP beacons, mDNS, a libp2p DHT). A provider reads
 * the cluster's name from {@link ProviderConfig#clusterName()} and the join token, which scopes
 * and authenticates announcements, from the setting {@value #TOKEN_SETTING}. Every
 * implementation passes {@code DiscoveryCompatibilityKit} from hive-spi's test-jar.
 */
public interface Discovery extends AutoCloseable {
  /** Receives what a discovery plugin notices. Called from the plugin's own thread. */
  interface Listener {
    /** A peer was found, or its address changed. */
    void peerFound(DiscoveredPeer peer);

    /** A peer is no longer announced. */
    void peerLost(DiscoveredPeer peer);
  }

  /** The setting that carries the cluster's join token to a discovery provider. */
  String TOKEN_SETTING = "hive.discovery.token";

  /** Returns the plugin's name. */
  String name();

  /**
   * Announces {@code self} and starts reporting peers to {@code listener}. A peer announced with
   * port 0 is a node that is not a member yet (it is forming or joining the cluster); members
   * announce the port of their transport.
   *
   * @throws dev.hive.api.HiveException if it cannot start (e.g. its port is taken)
   */
  void start(DiscoveredPeer self, Listener listener);

  /**
   * Returns what the plugin knows about the local node that users ask for, shown by {@code hive
   * node info}: e.g. libp2p's {@code peerId} and {@code multiaddrs} (comma-separated).
   */
  default java.util.Map<String, String> describe() {
    return java.util.Map.of();
  }

  /** Changes what this node announces, e.g. its port once it is a member. */
  void update(DiscoveredPeer self);

  /** Stops announcing and reporting. */
  @Override
  void close();
}
