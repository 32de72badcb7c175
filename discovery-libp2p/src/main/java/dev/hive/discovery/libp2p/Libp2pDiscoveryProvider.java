package dev.hive.discovery.libp2p;

import dev.hive.spi.Discovery;
import dev.hive.spi.DiscoveryProvider;
import dev.hive.spi.ProviderConfig;
import java.time.Duration;

/**
 * Provides discovery {@code libp2p}. Settings: {@code hive.libp2p.bootstrap} (multiaddrs ending
 * in /p2p/ID, comma-separated), {@code hive.libp2p.port} (0: any), {@code hive.libp2p.bind}
 * (0.0.0.0), {@code hive.libp2p.dht-protocol} (/ipfs/kad/1.0.0), {@code
 * hive.libp2p.announce-interval} (1s), {@code hive.libp2p.lost-after} (5s), {@code
 * hive.libp2p.heartbeat} (gossipsub, 1s), and the join token in {@value Discovery#TOKEN_SETTING}.
 */
public final class Libp2pDiscoveryProvider implements DiscoveryProvider {
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
  public Discovery create(ProviderConfig config) {
    Duration interval = config.duration(Libp2pDiscovery.INTERVAL, Duration.ofSeconds(1));
    Duration lostAfter = config.duration(Libp2pDiscovery.LOST_AFTER, Duration.ofSeconds(5));
    Libp2pNode node = Libp2pNode.acquire(config);
    return new Libp2pDiscovery(node, config.clusterName(), interval, lostAfter, config.clock());
  }
}
