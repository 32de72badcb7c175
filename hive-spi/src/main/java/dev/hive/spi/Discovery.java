package dev.hive.spi;

/**
 * Finds the other nodes of a cluster (seeds, UDP beacons, mDNS, a libp2p DHT). Implementations
 * pass the discovery compatibility kit (it arrives with the issue "Cluster formation").
 */
public interface Discovery extends AutoCloseable {
  /** Receives what a discovery plugin notices. Called from the plugin's own thread. */
  interface Listener {
    /** A peer was found, or its address changed. */
    void peerFound(DiscoveredPeer peer);

    /** A peer is no longer announced. */
    void peerLost(DiscoveredPeer peer);
  }

  /** Returns the plugin's name. */
  String name();

  /**
   * Announces {@code self} and starts reporting peers to {@code listener}.
   *
   * @throws dev.hive.api.HiveException if it cannot start (e.g. its port is taken)
   */
  void start(DiscoveredPeer self, Listener listener);

  /** Stops announcing and reporting. */
  @Override
  void close();
}
