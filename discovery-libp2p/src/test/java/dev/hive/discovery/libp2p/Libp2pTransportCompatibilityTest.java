package dev.hive.discovery.libp2p;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.Transport;
import dev.hive.spi.kit.TransportCompatibilityKit;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The transport kit over libp2p, and what a node outside the cluster meets. */
class Libp2pTransportCompatibilityTest extends TransportCompatibilityKit {
  /** Keys and node data of every node this class opens; JUnit deletes it after the class. */
  @org.junit.jupiter.api.io.TempDir static java.nio.file.Path scratch;
  private static final String TOKEN = "kit-token-0123456789abcdef";

  static Transport open(String nodeId, String cluster, String token) {
    try {
      return new Libp2pTransportProvider().create(new ProviderConfig(Files.createTempDirectory(scratch, "libp2p-rpc"), cluster, nodeId, Clock.systemUTC(),
          Map.of(Discovery.TOKEN_SETTING, token, Libp2pNode.BIND, "127.0.0.1")));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  protected Transport open(String nodeId) {
    return open(nodeId, "kit", TOKEN);
  }

  private static String echo(Transport from, DiscoveredPeer to) throws Exception {
    return new String(from.request(to, "echo", "hi".getBytes(StandardCharsets.UTF_8), TIMEOUT).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8);
  }

  @Test
  void aNodeWithAnotherTokenOrClusterIsRefusedAndMembersGoOn() throws Exception {
    try (Transport wrongToken = open("intruder", "kit", "another-token-0123456789");
        Transport otherCluster = open("stranger", "other", TOKEN)) {
      for (Transport outsider : new Transport[] {wrongToken, otherCluster}) {
        assertThatThrownBy(() -> outsider.request(bPeer, "echo", new byte[0], TIMEOUT).get(30, TimeUnit.SECONDS))
            .cause()
            .isInstanceOf(UnavailableException.class)
            .hasMessageContaining("refused this node")
            .hasMessageContaining("--token");
        assertThatThrownBy(() -> outsider.openChannel(bPeer, "echo-channel", TIMEOUT).get(30, TimeUnit.SECONDS))
            .cause()
            .isInstanceOf(UnavailableException.class);
      }
      // A member does not take the outsider's word for who it is either: it answers no proof.
      int port = wrongToken.listen("127.0.0.1", 0, new Transport.Handler() {
        @Override
        public byte[] handle(String fromNode, String topic, byte[] payload) {
          throw new AssertionError("a member's request reached an outsider's handler");
        }
      });
      assertThatThrownBy(() -> a.request(new DiscoveredPeer("intruder", "127.0.0.1", port), "echo", new byte[0], TIMEOUT).get(30, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining("intruder");
      assertThat(echo(a, bPeer)).isEqualTo("hi");
    }
  }

  @Test
  void aLibp2pPeerThatIsNotAHiveNodeIsUnavailable() throws Exception {
    Host plain = new Host(PeerKeys.generate(), "plain");
    try {
      int port = plain.listen("127.0.0.1", 0);
      assertThatThrownBy(() -> a.request(new DiscoveredPeer("plain", "127.0.0.1", port), "echo", new byte[0], TIMEOUT).get(30, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining("does not serve /hive/rpc/1.0.0");
    } finally {
      plain.close();
    }
  }

  @Test
  void aBodyOverTheMessageLimitFailsThatRequestOnly() throws Exception {
    byte[] tooBig = new byte[Libp2pTransport.MAX_BODY + 1];
    assertThatThrownBy(() -> a.request(bPeer, "echo", tooBig, Duration.ofSeconds(30)).get(60, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(HiveException.class)
        .hasMessageContaining("over the limit");
    assertThat(echo(a, bPeer)).isEqualTo("hi");
  }
}
