package dev.hive.benchmarks;

import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.JoinToken;
import dev.hive.core.security.TlsContexts;
import dev.hive.core.transport.tcp.TcpTransport;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.ProviderSelection;
import dev.hive.spi.Transport;
import dev.hive.spi.TransportProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Bulk bytes between two nodes in this JVM on loopback, over the libp2p transport (Noise,
 * ChaCha20-Poly1305, yamux) and over the tcp transport (mutual TLS 1.3), in the same run, rounds
 * alternating, medians reported. Two shapes: a bulk stream (a request whose body is streamed, as
 * Hive's state snapshots go) and a channel (what file transfers use). A round ends when the
 * receiver has read every byte and answered.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.TransportThroughputHarness [MiB] [rounds]</pre>
 */
public final class TransportThroughputHarness {
  private static final Duration TIMEOUT = Duration.ofMinutes(5);
  private static final String TOKEN = "bench-token-0123456789abcdef";

  private TransportThroughputHarness() {}

  public static void main(String[] args) throws Exception {
    long mib = args.length > 0 ? Long.parseLong(args[0]) : 512;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    if (mib < 1 || rounds < 1) {
      throw new IllegalArgumentException("usage: TransportThroughputHarness [MiB >= 1] [rounds >= 1]");
    }
    Path base = Files.createTempDirectory("hive-transport-bench");
    int status = 0;
    try {
      run(base, mib << 20, rounds);
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    } finally {
      try {
        TransferHarness.deleteTree(base);
      } catch (IOException e) {
        // Reported, not thrown: it would hide the measurement's own failure.
        System.err.println("could not remove all of " + base + ": " + e);
      }
    }
    System.exit(status);
  }

  private static void run(Path base, long size, int rounds) throws Exception {
    Map<String, Transport[]> pairs = new LinkedHashMap<>();
    pairs.put("tcp + TLS", tcpPair(base.resolve("tcp")));
    pairs.put("libp2p", libp2pPair(base.resolve("libp2p")));
    Map<String, DiscoveredPeer> receivers = new LinkedHashMap<>();
    for (Map.Entry<String, Transport[]> pair : pairs.entrySet()) {
      int port = pair.getValue()[1].listen("127.0.0.1", 0, new Sink());
      pair.getValue()[0].listen("127.0.0.1", 0, new Sink());
      receivers.put(pair.getKey(), new DiscoveredPeer("node-b", "127.0.0.1", port));
    }
    try {
      Map<String, List<Double>> streamRates = new LinkedHashMap<>();
      Map<String, List<Double>> channelRates = new LinkedHashMap<>();
      // A warm-up round each, not counted: connections, handshakes and the JIT.
      for (String name : pairs.keySet()) {
        viaStream(pairs.get(name)[0], receivers.get(name), 64L << 20);
        viaChannel(pairs.get(name)[0], receivers.get(name), 64L << 20);
      }
      for (int r = 0; r < rounds; r++) {
        for (String name : pairs.keySet()) {
          streamRates.computeIfAbsent(name, k -> new ArrayList<>()).add(viaStream(pairs.get(name)[0], receivers.get(name), size));
          channelRates.computeIfAbsent(name, k -> new ArrayList<>()).add(viaChannel(pairs.get(name)[0], receivers.get(name), size));
        }
      }
      System.out.printf(Locale.ROOT, "%d MiB per round, %d rounds, medians:%n", size >> 20, rounds);
      // What each side's cipher alone allows on one core of this JVM: Noise is bound to
      // ChaCha20-Poly1305, TLS 1.3 negotiates AES-GCM.
      System.out.printf(Locale.ROOT, "  one core encrypting 64 KiB records: ChaCha20-Poly1305 %.1f MiB/s, AES-GCM %.1f MiB/s%n",
          cipherRate("ChaCha20-Poly1305"), cipherRate("AES/GCM/NoPadding"));
      for (String shape : List.of("bulk stream", "channel")) {
        Map<String, List<Double>> rates = shape.equals("channel") ? channelRates : streamRates;
        double tls = TransferHarness.median(rates.get("tcp + TLS"));
        double libp2p = TransferHarness.median(rates.get("libp2p"));
        System.out.printf(Locale.ROOT, "  %-11s tcp + TLS %7.1f MiB/s, libp2p %7.1f MiB/s: libp2p/TLS %.2f%n", shape, tls, libp2p, libp2p / tls);
      }
    } finally {
      for (Transport[] pair : pairs.values()) {
        pair[0].close();
        pair[1].close();
      }
    }
  }

  private static Transport[] tcpPair(Path dir) throws IOException {
    JoinToken token = JoinToken.of(TOKEN);
    ClusterPki ca = ClusterPki.createCluster(Files.createDirectories(dir.resolve("a")), "bench", "node-a");
    KeyPair keys = ClusterPki.newKeyPair();
    ClusterPki b = ClusterPki.joined(Files.createDirectories(dir.resolve("b")), keys, ca.issue("node-b", keys.getPublic()), ca.caCertificate(), null);
    return new Transport[] {new TcpTransport("node-a", TlsContexts.member(ca, token)),
        new TcpTransport("node-b", TlsContexts.member(b, token))};
  }

  private static Transport[] libp2pPair(Path dir) throws IOException {
    return new Transport[] {libp2p(dir.resolve("a"), "node-a"), libp2p(dir.resolve("b"), "node-b")};
  }

  private static Transport libp2p(Path dataDir, String nodeId) throws IOException {
    Files.createDirectories(dataDir);
    ProviderConfig config = new ProviderConfig(dataDir, "bench", nodeId, Clock.systemUTC(),
        Map.of(Discovery.TOKEN_SETTING, TOKEN, "hive.libp2p.bind", "127.0.0.1"));
    return ProviderSelection.load("transport", TransportProvider.class, List.of(), TransportThroughputHarness.class.getClassLoader())
        .select("libp2p", config, Transport.class).plugin();
  }

  /** Sends {@code size} bytes as one streamed request body; returns MiB/s. */
  private static double viaStream(Transport from, DiscoveredPeer to, long size) throws Exception {
    long start = System.nanoTime();
    byte[] answer = from.stream(to, "bench", new Zeros(size), TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    long received = ByteBuffer.wrap(answer).getLong();
    if (received != size) {
      throw new IllegalStateException("the receiver read " + received + " bytes of " + size);
    }
    return rate(size, System.nanoTime() - start);
  }

  /** Sends {@code size} bytes down a channel, then waits for the receiver's count; returns MiB/s. */
  private static double viaChannel(Transport from, DiscoveredPeer to, long size) throws Exception {
    long start = System.nanoTime();
    try (Transport.Channel channel = from.openChannel(to, "bench", TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      writeFully(channel, ByteBuffer.allocate(8).putLong(0, size));
      ByteBuffer chunk = ByteBuffer.allocate(256 * 1024);
      for (long left = size; left > 0; left -= chunk.capacity()) {
        chunk.clear().limit((int) Math.min(chunk.capacity(), left));
        writeFully(channel, chunk);
      }
      ByteBuffer count = ByteBuffer.allocate(8);
      while (count.hasRemaining() && channel.read(count) >= 0) {
        // Until the receiver's count is in.
      }
      if (count.hasRemaining() || count.getLong(0) != size) {
        throw new IllegalStateException("the receiver did not confirm " + size + " bytes");
      }
    }
    return rate(size, System.nanoTime() - start);
  }

  /** Encrypts 64 KiB records, as Noise and TLS frame them, for a second; returns MiB/s. */
  private static double cipherRate(String transformation) throws GeneralSecurityException {
    boolean aes = transformation.startsWith("AES");
    SecretKeySpec key = new SecretKeySpec(new byte[32], aes ? "AES" : "ChaCha20");
    Cipher cipher = Cipher.getInstance(transformation);
    byte[] record = new byte[65_519];
    byte[] out = new byte[65_535 + 16];
    byte[] nonce = new byte[12];
    long bytes = 0;
    long start = System.nanoTime();
    for (long n = 0; System.nanoTime() - start < 1_000_000_000L; n++) {
      ByteBuffer.wrap(nonce).putLong(4, n);
      cipher.init(Cipher.ENCRYPT_MODE, key, aes ? new GCMParameterSpec(128, nonce) : new IvParameterSpec(nonce));
      cipher.doFinal(record, 0, record.length, out, 0);
      bytes += record.length;
    }
    return rate(bytes, System.nanoTime() - start);
  }

  private static void writeFully(Transport.Channel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }

  private static double rate(long bytes, long nanos) {
    return bytes / 1048576.0 / (nanos / 1e9);
  }

  /** {@code size} zero bytes, handed out in the caller's buffer: the sender costs nothing to feed. */
  private static final class Zeros extends InputStream {
    private long left;

    Zeros(long size) {
      this.left = size;
    }

    @Override
    public int read() {
      return left-- > 0 ? 0 : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left <= 0) {
        return -1;
      }
      int n = (int) Math.min(len, left);
      java.util.Arrays.fill(b, off, off + n, (byte) 0);
      left -= n;
      return n;
    }
  }

  /** Reads everything it is sent and answers with the count. */
  private static final class Sink implements Transport.Handler {
    @Override
    public byte[] handle(String fromNode, String topic, byte[] payload) {
      return payload;
    }

    @Override
    public byte[] handleStream(String fromNode, String topic, InputStream body) throws IOException {
      byte[] buffer = new byte[256 * 1024];
      long count = 0;
      for (int n; (n = body.read(buffer)) >= 0; ) {
        count += n;
      }
      return ByteBuffer.allocate(8).putLong(count).array();
    }

    @Override
    public void handleChannel(String fromNode, String topic, Transport.Channel channel) throws IOException {
      ByteBuffer header = ByteBuffer.allocate(8);
      while (header.hasRemaining() && channel.read(header) >= 0) {
        // The announced size.
      }
      long expected = header.getLong(0);
      ByteBuffer buffer = ByteBuffer.allocate(256 * 1024);
      long count = 0;
      while (count < expected) {
        buffer.clear();
        int n = channel.read(buffer);
        if (n < 0) {
          break;
        }
        count += n;
      }
      ByteBuffer answer = ByteBuffer.allocate(8).putLong(0, count);
      writeFully(channel, answer);
    }
  }
}
