package dev.hive.core.consensus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.TlsContexts;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The consensus port is as closed as the cluster port: it listens only on the node's bind address,
 * and speaks TLS 1.3 only, as a server and towards its peers.
 */
class RaftConsensusPortTest {
  @TempDir Path dir;
  private final List<RaftCommandLog> logs = new ArrayList<>();
  private final Map<String, ClusterPki> pkis = new HashMap<>();
  private ClusterPki ca;

  @AfterEach
  void closeAll() {
    logs.forEach(RaftCommandLog::close);
  }

  @Test
  void listensOnlyOnTheBindAddress() throws Exception {
    int port = freePort();
    start("a", "127.0.0.1", port, List.of(new RaftCommandLog.Peer("a", "127.0.0.1:" + port, true)));

    assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "needs Linux' /proc/net/tcp");
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    List<InetAddress> listening = listeningAddresses(port);
    assertThat(listening).as("addresses listening on the consensus port %d", port).isNotEmpty();
    assertThat(listening).as("addresses listening on the consensus port %d", port).allMatch(loopback::equals);

    // From outside, through this host's other address, nothing answers.
    InetAddress other = nonLoopbackIpv4();
    if (other != null) {
      try (Socket s = new Socket()) {
        assertThatThrownBy(() -> s.connect(new InetSocketAddress(other, port), 2000))
            .as("connecting to %s:%d", other.getHostAddress(), port)
            .isInstanceOf(ConnectException.class);
      }
    }
  }

  @Test
  void listensOnEveryAddressWhenBoundToTheWildcard() throws Exception {
    int port = freePort();
    start("a", "0.0.0.0", port, List.of(new RaftCommandLog.Peer("a", "127.0.0.1:" + port, true)));

    assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "needs Linux' /proc/net/tcp");
    assertThat(listeningAddresses(port)).as("addresses listening on the consensus port %d", port)
        .isNotEmpty()
        .allMatch(InetAddress::isAnyLocalAddress);
  }

  @Test
  void acceptsTls13OnlyAsAServer() throws Exception {
    int port = freePort();
    ClusterPki pki = pki("a");
    start("a", "127.0.0.1", port, List.of(new RaftCommandLog.Peer("a", "127.0.0.1:" + port, true)));
    SSLContext member = TlsContexts.member(pki, null);

    try (SSLSocket s = handshakeTo(member, port, "TLSv1.3")) {
      assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
    }
    assertThat(catchThrowable(() -> handshakeTo(member, port, "TLSv1.2").close()))
        .as("the failure of a TLS 1.2 handshake with the consensus port")
        .isInstanceOf(SSLException.class)
        .hasMessageContaining("protocol");
  }

  @Test
  void offersTls13OnlyToItsPeers() throws Exception {
    int port = freePort();
    SSLContext peerContext = TlsContexts.member(pki("z"), null);
    // A peer that speaks TLS 1.2 only: the node's first vote request comes to it.
    try (SSLServerSocket peer = (SSLServerSocket) peerContext.getServerSocketFactory().createServerSocket(0, 8, InetAddress.getByName("127.0.0.1"))) {
      peer.setEnabledProtocols(new String[] {"TLSv1.2"});
      peer.setNeedClientAuth(true);
      peer.setSoTimeout(30_000);
      CompletableFuture<String> handshake = CompletableFuture.supplyAsync(() -> {
        try (SSLSocket s = (SSLSocket) peer.accept()) {
          s.setSoTimeout(10_000);
          s.startHandshake();
          return s.getSession().getProtocol();
        } catch (SSLException e) {
          return "refused: " + e.getMessage();
        } catch (IOException e) {
          return "no connection: " + e;
        }
      });
      start("a", "127.0.0.1", port, List.of(
          new RaftCommandLog.Peer("a", "127.0.0.1:" + port, true),
          new RaftCommandLog.Peer("z", "127.0.0.1:" + peer.getLocalPort(), true)));
      assertThat(handshake.get(60, TimeUnit.SECONDS)).as("the node's handshake with a TLS 1.2-only peer")
          .startsWith("refused")
          .contains("protocol");
    }
  }

  private RaftCommandLog start(String id, String bind, int port, List<RaftCommandLog.Peer> peers) {
    RaftCommandLog log = RaftCommandLog.start("test", id, dir.resolve(id), bind, bind + ":" + port, peers, pki(id), RaftCommandLog.Timing.DEFAULTS);
    logs.add(log);
    return log;
  }

  private ClusterPki pki(String id) {
    return pkis.computeIfAbsent(id, i -> {
      if (ca == null) {
        ca = ClusterPki.createCluster(dir.resolve("tls-" + id), "test", id);
        return ca;
      }
      KeyPair keys = ClusterPki.newKeyPair();
      return ClusterPki.joined(dir.resolve("tls-" + id), keys, ca.issue(id, keys.getPublic()), ca.caCertificate(), null);
    });
  }

  /** A finished handshake with the consensus port at {@code protocol} only, offering HTTP/2 as gRPC does. */
  private static SSLSocket handshakeTo(SSLContext context, int port, String protocol) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
    try {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setProtocols(new String[] {protocol});
      params.setApplicationProtocols(new String[] {"h2"});
      s.setSSLParameters(params);
      s.startHandshake();
      // TLS 1.3 servers judge the client's certificate after the client's handshake ends: one read shows it.
      s.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      s.getInputStream().read();
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** The local addresses of the sockets listening on {@code port}, from /proc/net/tcp and tcp6. */
  private static List<InetAddress> listeningAddresses(int port) throws IOException {
    List<InetAddress> result = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path path = Path.of(table);
      if (!Files.isReadable(path)) {
        continue;
      }
      List<String> lines = Files.readAllLines(path);
      for (String line : lines.subList(1, lines.size())) {
        String[] fields = line.trim().split("\\s+");
        String[] local = fields[1].split(":");
        // State 0A is LISTEN.
        if (Integer.parseInt(local[1], 16) == port && fields[3].equals("0A")) {
          result.add(procAddress(local[0]));
        }
      }
    }
    return result;
  }

  /** /proc/net prints an address as 32-bit words, each in host (little-endian) byte order. */
  private static InetAddress procAddress(String hex) throws IOException {
    byte[] raw = HexFormat.of().parseHex(hex.toLowerCase(Locale.ROOT));
    byte[] address = new byte[raw.length];
    for (int word = 0; word < raw.length; word += 4) {
      for (int i = 0; i < 4; i++) {
        address[word + i] = raw[word + 3 - i];
      }
    }
    // An IPv4-mapped IPv6 address comes back as the IPv4 address.
    return InetAddress.getByAddress(address);
  }

  private static InetAddress nonLoopbackIpv4() throws IOException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (nic.isUp() && !nic.isLoopback()) {
        for (InetAddress a : Collections.list(nic.getInetAddresses())) {
          if (a instanceof Inet4Address) {
            return a;
          }
        }
      }
    }
    return null;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
