package dev.hive.core.consensus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The consensus port is as closed as the cluster port: it listens only on the node's bind address. */
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

  private RaftCommandLog start(String id, String bind, int port, List<RaftCommandLog.Peer> peers) {
    ClusterPki pki = pki(id);
    RaftCommandLog log = RaftCommandLog.start("test", id, dir.resolve(id), bind, bind + ":" + port, peers,
        new GrpcTlsConfig(TlsContexts.memberKeys(pki), TlsContexts.memberTrust(pki), true), RaftCommandLog.Timing.DEFAULTS);
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
