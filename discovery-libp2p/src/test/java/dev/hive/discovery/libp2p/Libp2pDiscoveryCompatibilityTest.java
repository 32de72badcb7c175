package dev.hive.discovery.libp2p;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.hive.api.InvalidSpecException;
import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.kad.Kademlia;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.kit.DiscoveryCompatibilityKit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The discovery kit, every instance bootstrapped from one plain DHT peer; and from a js-libp2p DHT peer. */
class Libp2pDiscoveryCompatibilityTest extends DiscoveryCompatibilityKit {
  /** Keys and node data of every node this class opens; JUnit deletes it after the class. */
  @org.junit.jupiter.api.io.TempDir static java.nio.file.Path scratch;
  private Host bootstrapHost;
  private Kademlia bootstrapDht;
  private String bootstrap;

  @BeforeEach
  void startBootstrapPeer() throws Exception {
    bootstrapHost = new Host(PeerKeys.generate(), "plain-dht");
    bootstrapDht = new Kademlia(bootstrapHost, Kademlia.DEFAULT_PROTOCOL, Clock.systemUTC());
    int port = bootstrapHost.listen("127.0.0.1", 0);
    bootstrap = Multiaddr.tcp("127.0.0.1", port).withPeerId(bootstrapHost.peerId()).toString();
  }

  @AfterEach
  void stopBootstrapPeer() {
    bootstrapDht.close();
    bootstrapHost.close();
  }

  static Discovery open(String cluster, String token, String bootstrap) {
    try {
      return new Libp2pDiscoveryProvider().create(new ProviderConfig(Files.createTempDirectory(scratch, "libp2p"), cluster, "kit", Clock.systemUTC(),
          Map.of(Discovery.TOKEN_SETTING, token, Libp2pNode.BOOTSTRAP, bootstrap, Libp2pNode.BIND, "127.0.0.1",
              Libp2pDiscovery.INTERVAL, "300ms", Libp2pDiscovery.LOST_AFTER, "2s", Libp2pNode.HEARTBEAT, "300ms")));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  protected Discovery open(String cluster, String token) {
    return open(cluster, token, bootstrap);
  }

  @Test
  void twoNodesThatKnowOnlyAJsDhtPeerFindEachOther() throws Exception {
    try (JsPeer js = JsPeer.start(Map.of("topics", List.of()))) {
      Seen a = new Seen();
      Seen b = new Seen();
      Discovery da = open("js-boot", "kit-token-0123456789abcdef", js.addr.toString());
      Discovery db = open("js-boot", "kit-token-0123456789abcdef", js.addr.toString());
      try {
        da.start(new DiscoveredPeer("node-a", "127.0.0.1", 7001), a);
        db.start(new DiscoveredPeer("node-b", "127.0.0.1", 7002), b);
        await().atMost(PATIENCE).until(() -> a.peers.containsKey("node-b") && b.peers.containsKey("node-a"));
        assertThat(((Libp2pDiscovery) da).host().connection(((Libp2pDiscovery) db).host().peerId())).isPresent();
      } finally {
        da.close();
        db.close();
      }
    }
  }

  @Test
  void badSettingsAreClearErrors() {
    assertThatThrownBy(() -> open("c", "kit-token-0123456789abcdef", "/ip4/127.0.0.1/tcp/4001"))
        .isInstanceOf(InvalidSpecException.class).hasMessageContaining("/p2p/");
    assertThatThrownBy(() -> open("c", "kit-token-0123456789abcdef", "not-an-address"))
        .isInstanceOf(InvalidSpecException.class).hasMessageContaining("multiaddr");
    Path dir = Path.of("target");
    assertThatThrownBy(() -> new Libp2pDiscoveryProvider().create(new ProviderConfig(dir, "c", "kit", Clock.systemUTC(), Map.of())))
        .hasMessageContaining("--token");
  }
}
