package dev.hive.benchmarks;

import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.api.Node;
import dev.hive.api.NodeState;
import dev.hive.api.TransferOptions;
import dev.hive.api.TransferStatus;
import dev.hive.core.node.LocalCluster;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A file moved between two Hive nodes on loopback, against what bounds it and what users would
 * pick instead, in the same run: the JDK's single-core SHA-256 rate over the same bytes (verifying
 * both ends is hashing-bound), {@code rsync} to an rsync daemon on loopback, and a plain socket
 * copy ({@code transferTo} to {@code transferFrom}, nothing verified, like {@code nc}). Files live
 * on tmpfs ({@code /dev/shm}) so that the disk is not what is measured; rounds alternate and the
 * median is reported. Also the time from {@code send} to the first chunk header arriving at the receiver.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.TransferHarness [MiB] [rounds] [streams]</pre>
 */
public final class TransferHarness {
  private TransferHarness() {}

  public static void main(String[] args) throws Exception {
    long mib = args.length > 0 ? Long.parseLong(args[0]) : 1024;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int streams = args.length > 2 ? Integer.parseInt(args[2]) : 4;
    Path base = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir")), "hive-transfer-bench");
    try {
      run(base, mib * 1024 * 1024, rounds, streams);
    } finally {
      deleteTree(base);
    }
    System.exit(0);
  }

  private static void run(Path base, long size, int rounds, int streams) throws Exception {
    Path source = base.resolve("source.img");
    writeRandom(source, size);
    Path received = Files.createDirectories(base.resolve("received"));
    Path rsyncDir = Files.createDirectories(base.resolve("rsync"));
    int portA = freePortPair();
    Cluster a = Hive.builder().clusterName("bench").nodeName("a").dataDir(base.resolve("a")).port(portA).bindAddress("127.0.0.1").httpPort(-1)
        .setting("hive.transfer.receive-root", base.resolve("received-a").toString()).start();
    String token = ((LocalCluster) a).joinToken().orElseThrow();
    Cluster b = Hive.builder().clusterName("bench").nodeName("b").dataDir(base.resolve("b")).port(freePortPair()).bindAddress("127.0.0.1").httpPort(-1)
        .seeds(List.of("127.0.0.1:" + portA)).joinToken(token).setting("hive.transfer.receive-root", received.toString()).start();
    Process rsyncd = null;
    try {
      String bId = b.localNode().id();
      awaitAlive(a, bId);
      dev.hive.core.transfer.TransferReceiver firstChunk = ((LocalCluster) b).transfers().receiver();
      int rsyncPort = freePortPair();
      rsyncd = startRsyncDaemon(base, rsyncDir, rsyncPort);

      Map<String, List<Double>> rates = new TreeMap<>();
      List<Double> firstByteMs = new ArrayList<>();
      // One warm-up transfer each way of sending, so the JIT has compiled the hot path.
      send(a, bId, source, TransferOptions.builder().streams(streams).destinationName("warm-tls").build(), received, firstChunk, null);
      send(a, bId, source, TransferOptions.builder().streams(streams).encrypted(false).destinationName("warm-plain").build(), received, firstChunk, null);
      for (int r = 0; r < rounds; r++) {
        rates.computeIfAbsent("1 JDK SHA-256, one core", k -> new ArrayList<>()).add(shaRate(source));
        rates.computeIfAbsent("2 Hive, TLS (default)", k -> new ArrayList<>()).add(
            send(a, bId, source, TransferOptions.builder().streams(streams).destinationName("tls-" + r).build(), received, firstChunk, firstByteMs));
        rates.computeIfAbsent("3 Hive, plain (--plain)", k -> new ArrayList<>()).add(
            send(a, bId, source, TransferOptions.builder().streams(streams).encrypted(false).destinationName("plain-" + r).build(), received, firstChunk, firstByteMs));
        rates.computeIfAbsent("4 rsync to an rsync daemon", k -> new ArrayList<>()).add(rsync(source, rsyncPort, rsyncDir, size));
        rates.computeIfAbsent("5 socket copy, unverified (nc)", k -> new ArrayList<>()).add(socketCopy(source, base.resolve("nc.img"), size));
      }
      double sha = median(rates.get("1 JDK SHA-256, one core"));
      double rsync = median(rates.get("4 rsync to an rsync daemon"));
      System.out.printf(Locale.ROOT, "%d MiB, %d rounds (median), %d streams, %d cores, files on %s%n", size >> 20, rounds, streams,
          Runtime.getRuntime().availableProcessors(), base.getParent());
      System.out.printf(Locale.ROOT, "%-34s %10s %12s %10s%n", "", "MiB/s", "x SHA-256", "x rsync");
      for (Map.Entry<String, List<Double>> e : rates.entrySet()) {
        double m = median(e.getValue());
        System.out.printf(Locale.ROOT, "%-34s %10.0f %12.2f %10.2f%n", e.getKey().substring(2), m, m / sha, m / rsync);
      }
      System.out.printf(Locale.ROOT, "first byte at the receiver after send(): median %.1f ms, max %.1f ms%n", median(firstByteMs),
          firstByteMs.stream().mapToDouble(Double::doubleValue).max().orElse(0));
    } finally {
      if (rsyncd != null) {
        rsyncd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      b.close();
      a.close();
    }
  }

  private static double send(Cluster a, String target, Path source, TransferOptions options, Path received, dev.hive.core.transfer.TransferReceiver firstChunk,
      List<Double> firstByteMs) throws Exception {
    long t0 = System.nanoTime();
    var transfer = a.transfers().send(source, target, options);
    TransferStatus done = transfer.result().get(10, TimeUnit.MINUTES);
    long t1 = System.nanoTime();
    if (firstByteMs != null) {
      firstByteMs.add((firstChunk.firstByteNanos(transfer.id()) - t0) / 1e6);
    }
    Files.delete(received.resolve(options.destinationName().orElseThrow()));
    return done.bytesTotal() / 1048576.0 / ((t1 - t0) / 1e9);
  }

  private static double shaRate(Path source) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    byte[] buffer = new byte[4 * 1024 * 1024];
    long t0 = System.nanoTime();
    long total = 0;
    try (var in = Files.newInputStream(source)) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        sha.update(buffer, 0, n);
        total += n;
      }
    }
    sha.digest();
    return total / 1048576.0 / ((System.nanoTime() - t0) / 1e9);
  }

  private static Process startRsyncDaemon(Path base, Path dir, int port) throws Exception {
    Path conf = base.resolve("rsyncd.conf");
    Files.writeString(conf, "use chroot = no\nuid = " + uid() + "\ngid = " + uid() + "\npid file = " + base.resolve("rsyncd.pid") + "\n[bench]\n  path = " + dir
        + "\n  read only = no\n");
    Process p = new ProcessBuilder("rsync", "--daemon", "--no-detach", "--address", "127.0.0.1", "--port", Integer.toString(port), "--config", conf.toString())
        .redirectErrorStream(true).redirectOutput(base.resolve("rsyncd.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try (var s = new java.net.Socket("127.0.0.1", port)) {
        return p;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new IllegalStateException("rsync --daemon did not listen on " + port + ": " + Files.readString(base.resolve("rsyncd.log")));
  }

  private static String uid() throws Exception {
    Process p = new ProcessBuilder("id", "-u").start();
    return new String(p.getInputStream().readAllBytes()).trim();
  }

  private static double rsync(Path source, int port, Path dir, long size) throws Exception {
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder("rsync", "--whole-file", source.toString(), "rsync://127.0.0.1:" + port + "/bench/copy.img").inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("rsync failed with " + p.exitValue());
    }
    long t1 = System.nanoTime();
    if (Files.size(dir.resolve("copy.img")) != size) {
      throw new IllegalStateException("rsync copied " + Files.size(dir.resolve("copy.img")) + " bytes");
    }
    Files.delete(dir.resolve("copy.img"));
    return size / 1048576.0 / ((t1 - t0) / 1e9);
  }

  private static double socketCopy(Path source, Path target, long size) throws Exception {
    try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
      long t0 = System.nanoTime();
      Thread receiver = new Thread(() -> {
        try (SocketChannel in = server.accept(); FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
          // transferFrom a socket copies through 8 KiB; a 1 MiB buffer is what a tuned nc would use.
          ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
          while (in.read(buffer) >= 0) {
            buffer.flip();
            while (buffer.hasRemaining()) {
              out.write(buffer);
            }
            buffer.clear();
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      receiver.start();
      try (SocketChannel out = SocketChannel.open(server.getLocalAddress()); FileChannel in = FileChannel.open(source)) {
        long at = 0;
        while (at < size) {
          at += in.transferTo(at, size - at, out);
        }
      }
      receiver.join();
      long t1 = System.nanoTime();
      Files.delete(target);
      return size / 1048576.0 / ((t1 - t0) / 1e9);
    }
  }

  /** Shared with the other two-node harnesses. */
  static void awaitAlive(Cluster a, String id) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (Node n : a.nodes()) {
        if (n.id().equals(id) && n.state() == NodeState.ALIVE) {
          return;
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("node " + id + " did not become ALIVE in 60 s");
  }

  private static void writeRandom(Path file, long size) throws IOException {
    SplittableRandom random = new SplittableRandom(42);
    ByteBuffer block = ByteBuffer.allocate(1 << 20);
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      for (long left = size; left > 0; left -= block.capacity()) {
        block.clear();
        while (block.remaining() >= 8) {
          block.putLong(random.nextLong());
        }
        block.flip().limit((int) Math.min(block.capacity(), left));
        while (block.hasRemaining()) {
          out.write(block);
        }
      }
    }
  }

  /**
   * Two free ports in a row, below Linux's ephemeral range (32768 up): a port the kernel hands
   * out might be taken again by an outgoing connection before the node binds it, and with fifty
   * nodes connecting at once that happens. Nor is a pair handed out twice in one run: fifty
   * nodes pick their ports before any binds.
   */
  static int freePortPair() throws IOException {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int i = 0; i < 200; i++) {
      int p = random.nextInt(20_000, 32_000);
      if (HANDED_OUT.contains(p) || HANDED_OUT.contains(p + 1) || HANDED_OUT.contains(p - 1)) {
        continue;
      }
      try (ServerSocket a = new ServerSocket(p); ServerSocket b = new ServerSocket(p + 1)) {
        HANDED_OUT.add(p);
        return p;
      } catch (IOException e) {
        // Taken; try another.
      }
    }
    throw new IOException("no two free ports in a row between 20000 and 32000");
  }

  private static final Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(Comparator.naturalOrder());
    return sorted.get(sorted.size() / 2);
  }

  static void deleteTree(Path dir) throws IOException {
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
