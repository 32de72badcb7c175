package dev.hive.spi.kit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Discovery} must do. A discovery's test extends this class and opens instances
 * for a cluster name and token; instances of the same name and token must find each other, and
 * others must not.
 */
public abstract class DiscoveryCompatibilityKit {
  protected static final Duration PATIENCE = Duration.ofSeconds(30);
  private final List<Discovery> opened = new ArrayList<>();

  /** Opens a discovery for {@code cluster} with {@code token}; peers should be reported lost within a few seconds. */
  protected abstract Discovery open(String cluster, String token);

  /** Returns the host the instances announce. */
  protected String host() {
    return "127.0.0.1";
  }

  /** Collects what a discovery reports. */
  protected static final class Seen implements Discovery.Listener {
    public Seen() {}

    public final Map<String, DiscoveredPeer> peers = new ConcurrentHashMap<>();
    public final Map<String, DiscoveredPeer> lost = new ConcurrentHashMap<>();

    @Override
    public void peerFound(DiscoveredPeer peer) {
      lost.remove(peer.nodeId());
      peers.put(peer.nodeId(), peer);
    }

    @Override
    public void peerLost(DiscoveredPeer peer) {
      peers.remove(peer.nodeId());
      lost.put(peer.nodeId(), peer);
    }
  }

  private Discovery started(String cluster, String token, String nodeId, int port, Seen seen) {
    Discovery d = open(cluster, token);
    opened.add(d);
    d.start(new DiscoveredPeer(nodeId, host(), port), seen);
    return d;
  }

  @AfterEach
  void closeAll() {
    opened.forEach(Discovery::close);
  }

  @Test
  void instancesOfOneClusterFindEachOtherWithTheirAddresses() {
    Seen a = new Seen();
    Seen b = new Seen();
    started("kit", "kit-token-0123456789abcdef", "node-a", 7001, a);
    started("kit", "kit-token-0123456789abcdef", "node-b", 7002, b);
    await().atMost(PATIENCE).until(() -> a.peers.containsKey("node-b") && b.peers.containsKey("node-a"));
    assertThat(a.peers.get("node-b").port()).isEqualTo(7002);
    assertThat(b.peers.get("node-a").port()).isEqualTo(7001);
    assertThat(a.peers).doesNotContainKey("node-a");
  }

  @Test
  void anUpdatedAnnouncementIsSeen() {
    Seen a = new Seen();
    started("kit", "kit-token-0123456789abcdef", "node-a", 7001, a);
    Discovery b = started("kit", "kit-token-0123456789abcdef", "node-b", 0, new Seen());
    await().atMost(PATIENCE).until(() -> a.peers.containsKey("node-b"));
    assertThat(a.peers.get("node-b").port()).isZero();
    b.update(new DiscoveredPeer("node-b", host(), 7002));
    await().atMost(PATIENCE).until(() -> a.peers.get("node-b") != null && a.peers.get("node-b").port() == 7002);
  }

  @Test
  void anotherClusterOrAnotherTokenIsNotFound() {
    Seen a = new Seen();
    started("kit", "kit-token-0123456789abcdef", "node-a", 7001, a);
    started("other", "kit-token-0123456789abcdef", "stranger", 7003, new Seen());
    started("kit", "forged-token-0123456789abc", "forger", 7004, new Seen());
    Seen b = new Seen();
    started("kit", "kit-token-0123456789abcdef", "node-b", 7002, b);
    await().atMost(PATIENCE).until(() -> a.peers.containsKey("node-b"));
    // node-b was found, so the others had as long to be found too, and were not.
    assertThat(a.peers).doesNotContainKeys("stranger", "forger");
  }

  @Test
  void aClosedInstanceIsReportedLost() {
    Seen a = new Seen();
    started("kit", "kit-token-0123456789abcdef", "node-a", 7001, a);
    Discovery b = started("kit", "kit-token-0123456789abcdef", "node-b", 7002, new Seen());
    await().atMost(PATIENCE).until(() -> a.peers.containsKey("node-b"));
    b.close();
    await().atMost(PATIENCE).until(() -> a.lost.containsKey("node-b"));
  }
}
