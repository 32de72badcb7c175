package dev.hive.discovery.libp2p;

import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.Transport;
import dev.hive.spi.TransportProvider;

/**
 * Provides transport {@code libp2p}: Hive's requests, bulk streams and channels on {@value
 * Libp2pTransport#PROTOCOL} streams, over Noise and yamux, sharing the node's libp2p host with
 * discovery {@code libp2p}. Needs the join token in {@value Discovery#TOKEN_SETTING}; takes the
 * same {@code hive.libp2p.*} settings as the discovery.
 */
public final class Libp2pTransportProvider implements TransportProvider {
  @Override
  public String name() {
    return "libp2p";
  }

  @Override
  public int priority() {
    return 5;
  }

  @Override
  public boolean isApplicable() {
    return true;
  }

  @Override
  public Transport create(ProviderConfig config) {
    return new Libp2pTransport(Libp2pNode.acquire(config), config.nodeId());
  }
}
