package dev.hive.core.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.hive.api.UnavailableException;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.JoinToken;
import dev.hive.core.security.TlsContexts;
import dev.hive.core.testing.CuttableProxy;
import dev.hive.core.transport.tcp.TcpTransport;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import dev.hive.spi.kit.TransportCompatibilityKit;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

class TcpTransportCompatibilityTest extends TransportCompatibilityKit {
  /** Keys and node data of every node this class opens; JUnit deletes it after the class. */
  @org.junit.jupiter.api.io.TempDir static java.nio.file.Path scratch;
  private static final JoinToken TOKEN = JoinToken.of("kit-token-0123456789abcdef");
  private ClusterPki ca;

  @Override
  protected Transport open(String nodeId) {
    try {
      if (ca == null) {
        ca = ClusterPki.createCluster(Files.createTempDirectory(scratch, "ca"), "kit", "node-a");
      }
      if (nodeId.equals("node-a")) {
        return new TcpTransport(nodeId, TlsContexts.member(ca, TOKEN));
      }
      KeyPair keys = ClusterPki.newKeyPair();
      ClusterPki member = ClusterPki.joined(Files.createTempDirectory(scratch, nodeId), keys, ca.issue(nodeId, keys.getPublic()), ca.caCertificate(), null);
      return new TcpTransport(nodeId, TlsContexts.member(member, TOKEN));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A peer that takes the connection but never finishes the handshake (a host cut off mid-way, a
   * stuck process) costs requests to it their timeout, and nothing to requests to other peers:
   * every new connection of a node once waited behind one being made, so that a client cut off
   * from its servers took seconds after the heal to reach any of them (PartitionIT).
   */
  @Test
  void aPeerThatNeverAnswersTheHandshakeDoesNotHoldUpRequestsToOthers() throws Exception {
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      DiscoveredPeer stuck = new DiscoveredPeer("stuck", "127.0.0.1", silent.getLocalPort());
      java.util.concurrent.CompletableFuture<byte[]> toStuck = a.request(stuck, "echo", new byte[0], Duration.ofSeconds(8));
      Thread.sleep(200);
      long start = System.nanoTime();
      assertThat(new String(a.request(bPeer, "echo", "hi".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(8)).get(30, TimeUnit.SECONDS),
          StandardCharsets.UTF_8)).isEqualTo("hi");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("a request to a healthy peer while a handshake hangs").isLessThan(Duration.ofSeconds(3));
      assertThat(catchThrowable(() -> toStuck.get(30, TimeUnit.SECONDS))).isNotNull();
    }
  }

  /**
   * A cut that drops packets leaves a connection open and silent, and after the heal TCP resumes
   * it only at its next retransmission (21 s after a 30 s cut, 85 s after 120 s): a request that
   * times out on a connection on which nothing has arrived for 2 s closes it, so the first request
   * after the heal dials again. A cut-off member synced with its seed on such a connection and
   * stayed DEAD in the others' view for minutes after each heal (PartitionIT).
   */
  @Test
  void aConnectionSilentThroughACutIsDialedAgainAfterTheHeal() throws Exception {
    try (CuttableProxy proxy = new CuttableProxy(bPeer.port())) {
      DiscoveredPeer b2 = new DiscoveredPeer(bPeer.nodeId(), "127.0.0.1", proxy.port());
      assertThat(a.request(b2, "echo", "hi".getBytes(StandardCharsets.UTF_8), TIMEOUT).get(30, TimeUnit.SECONDS)).asString(StandardCharsets.UTF_8).isEqualTo("hi");
      proxy.cut(CuttableProxy.Cut.BLACKHOLE_OLD_STAY_DEAD);
      assertThat(catchThrowable(() -> a.request(b2, "echo", new byte[0], Duration.ofSeconds(3)).get(30, TimeUnit.SECONDS))).hasMessageContaining("timed out");
      proxy.heal();
      assertThat(a.request(b2, "echo", "again".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5)).get(30, TimeUnit.SECONDS))
          .as("the first request after the heal").asString(StandardCharsets.UTF_8).isEqualTo("again");
    }
  }

  /**
   * A connection that answers slowly is no silent one: a request that times out while others on
   * the same connection are answered leaves it open.
   */
  @Test
  void aRequestTimingOutOnAConnectionThatAnswersOthersKeepsIt() throws Exception {
    java.util.concurrent.CompletableFuture<byte[]> patient = a.request(bPeer, "slow", "patient".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(20));
    java.util.concurrent.CompletableFuture<byte[]> impatient = a.request(bPeer, "slow", new byte[0], Duration.ofSeconds(3));
    while (!impatient.isDone()) {
      assertThat(a.request(bPeer, "echo", "x".getBytes(StandardCharsets.UTF_8), TIMEOUT).get(30, TimeUnit.SECONDS)).asString(StandardCharsets.UTF_8).isEqualTo("x");
      Thread.sleep(300);
    }
    assertThat(catchThrowable(() -> impatient.get(30, TimeUnit.SECONDS))).hasMessageContaining("timed out");
    release.countDown();
    assertThat(patient.get(30, TimeUnit.SECONDS)).as("the answer to a request that waited on the same connection").asString(StandardCharsets.UTF_8)
        .isEqualTo("patient");
  }

  /**
   * Once a has a connection to b, b's requests to a ride it: b need not reach a's port at all
   * (here it has a wrong one), and a answers them as from b. Every node of a cluster talks to
   * every other (SWIM), and each connection made costs both ends a TLS handshake: fifty nodes
   * forming made about 2,500 of them, the largest part of their processor time.
   */
  @Test
  void requestsBackToAMemberRideTheConnectionItMade() throws Exception {
    assertThat(new String(a.request(bPeer, "whoami", new byte[0], TIMEOUT).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8)).isEqualTo("node-a");
    DiscoveredPeer aAtAWrongPort;
    try (java.net.ServerSocket closed = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      aAtAWrongPort = new DiscoveredPeer("node-a", "127.0.0.1", closed.getLocalPort());
    }
    assertThat(new String(b.request(aAtAWrongPort, "whoami", new byte[0], TIMEOUT).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8))
        .as("a's answer to b, over a's connection").isEqualTo("node-b");
    assertThat(new String(b.request(aAtAWrongPort, "echo", "back".getBytes(StandardCharsets.UTF_8), TIMEOUT).get(30, TimeUnit.SECONDS),
        StandardCharsets.UTF_8)).isEqualTo("back");
    a.close();
    assertThatThrownBy(() -> b.request(aAtAWrongPort, "echo", new byte[0], Duration.ofSeconds(3)).get(30, TimeUnit.SECONDS))
        .as("once a's connection is gone, b must reach a's port itself").cause().isInstanceOf(UnavailableException.class);
  }

  /**
   * A member that connects again on the same TLS context may resume its session, and a resumed
   * handshake checks no certificate: the member must still be served as a member, not dropped as
   * a joiner.
   */
  @Test
  void aMemberConnectingAgainOnTheSameContextIsStillAMember() throws Exception {
    KeyPair keys = ClusterPki.newKeyPair();
    ClusterPki member = ClusterPki.joined(Files.createTempDirectory(scratch, "again"), keys, ca.issue("node-c", keys.getPublic()), ca.caCertificate(), null);
    SSLContext context = TlsContexts.member(member, TOKEN);
    for (int i = 0; i < 3; i++) {
      Transport c = new TcpTransport("node-c", context);
      try {
        assertThat(new String(c.request(bPeer, "whoami", new byte[0], TIMEOUT).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8))
            .as("connection " + (i + 1)).isEqualTo("node-c");
      } finally {
        c.close();
      }
    }
  }

  @Test
  void aNodeOfAnotherClusterIsRefusedAtTheHandshakeAndReadsNothing() throws Exception {
    ClusterPki foreign = ClusterPki.createCluster(Files.createTempDirectory(scratch, "foreign"), "other", "intruder");
    Transport intruder = new TcpTransport("intruder", TlsContexts.member(foreign, null));
    try {
      assertThatThrownBy(() -> intruder.request(bPeer, "echo", "x".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5)).get(30, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining("certificate");
    } finally {
      intruder.close();
    }
  }

  @Test
  void aJoinerWithTheTokenMaySendOnlyTheJoinRequestAndAWrongTokenFailsTheHandshake() throws Exception {
    KeyPair keys = ClusterPki.newKeyPair();
    SSLContext good = TlsContexts.joiner(keys, ClusterPki.joinerCertificate(keys, "newcomer", TOKEN));
    Transport joiner = TcpTransport.joiner("newcomer", good);
    try {
      assertThat(new String(joiner.request(bPeer, TcpTransport.JOIN_TOPIC, "j".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5)).get(30, TimeUnit.SECONDS),
          StandardCharsets.UTF_8)).isEqualTo("j");
      assertThatThrownBy(() -> joiner.request(bPeer, "whoami", new byte[0], Duration.ofSeconds(5)).get(30, TimeUnit.SECONDS))
          .cause().isInstanceOf(dev.hive.api.HiveException.class);
    } finally {
      joiner.close();
    }
    SSLContext wrong = TlsContexts.joiner(keys, ClusterPki.joinerCertificate(keys, "newcomer", JoinToken.of("not-the-token-0123456789")));
    Transport impostor = TcpTransport.joiner("newcomer", wrong);
    try {
      assertThatThrownBy(() -> impostor.request(bPeer, TcpTransport.JOIN_TOPIC, new byte[0], Duration.ofSeconds(5)).get(30, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(UnavailableException.class);
    } finally {
      impostor.close();
    }
  }

  @Test
  void theClusterPortAcceptsTls13Only() throws Exception {
    SSLContext member = TlsContexts.member(ca, null);
    try (SSLSocket s = handshake(member, "TLSv1.3")) {
      assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
    }
    assertThat(catchThrowable(() -> handshake(member, "TLSv1.2").close()))
        .as("the failure of a TLS 1.2 handshake with the cluster port")
        .isInstanceOf(SSLException.class)
        .hasMessageContaining("protocol");
  }

  /** A finished handshake with node-b's port at {@code protocol} only, with a member's certificate. */
  private SSLSocket handshake(SSLContext context, String protocol) throws java.io.IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(bPeer.host(), bPeer.port());
    try {
      s.setSoTimeout(10_000);
      s.setEnabledProtocols(new String[] {protocol});
      s.startHandshake();
      return s;
    } catch (java.io.IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  @Test
  void garbageOnThePortDropsThatConnectionAndTheNodeKeepsServing() throws Exception {
    byte[] junk = new byte[4096];
    new Random(3).nextBytes(junk);
    for (int i = 0; i < 3; i++) {
      try (Socket s = new Socket(bPeer.host(), bPeer.port())) {
        OutputStream out = s.getOutputStream();
        out.write(junk);
        out.flush();
        s.setSoTimeout(5000);
        assertThat(s.getInputStream().read(new byte[1024])).isLessThanOrEqualTo(1024);
      } catch (java.net.SocketException e) {
        // Reset by the peer: dropped, as it should be.
      }
    }
    assertThat(new String(a.request(bPeer, "echo", "still here".getBytes(StandardCharsets.UTF_8), TIMEOUT).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8))
        .isEqualTo("still here");
  }

  @Test
  void aPortInUseIsAClearError() {
    Transport other = open("node-c");
    try {
      assertThatThrownBy(() -> other.listen(host(), bPeer.port(), (f, t, p) -> p))
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining("in use");
    } finally {
      other.close();
    }
  }

  @Test
  void certificatesSurviveAReload() {
    Path dir = null;
    try {
      dir = Files.createTempDirectory(scratch, "reload");
      ClusterPki created = ClusterPki.createCluster(dir, "c", "n1");
      ClusterPki loaded = ClusterPki.load(dir);
      assertThat(loaded.nodeCertificate()).isEqualTo(created.nodeCertificate());
      assertThat(ClusterPki.nodeIdOf(loaded.nodeCertificate())).isEqualTo("n1");
      assertThat(loaded.caKey()).isPresent();
      Files.writeString(dir.resolve("node.key"), "garbage");
      Path broken = dir;
      assertThatThrownBy(() -> ClusterPki.load(broken)).hasMessageContaining("node.key").hasMessageContaining("join");
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unused")
  private static DiscoveredPeer peer(String id, int port) {
    return new DiscoveredPeer(id, "127.0.0.1", port);
  }
}
