package dev.hive.benchmarks;

import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.api.Node;
import dev.hive.api.NodeState;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * N Hive nodes in this JVM on loopback start at once and form one cluster; the time from the
 * start until every node lists N ALIVE members. Two ways in the same run:
 *
 * <ul>
 *   <li>libp2p: {@code --discovery libp2p --transport libp2p}, each node given one bootstrap peer
 *       (a random node started before it in the list): they find each other through the Kademlia DHT and gossipsub, agree
 *       on a founder and join it over libp2p;
 *   <li>seeds (the baseline users have today): tcp with mutual TLS, every node given node 0's
 *       address as its one seed.
 * </ul>
 *
 * <p>The libp2p identities are made before the start, as an operator would have them, so that
 * every bootstrap multiaddr is known up front.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.Libp2pFormationHarness [nodes] [rounds]</pre>
 */
public final class Libp2pFormationHarness {
  private static final long PATIENCE_MS = Long.getLong("patience.ms", 180_000);

  private Libp2pFormationHarness() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 50;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    if (n < 2 || rounds < 1) {
      throw new IllegalArgumentException("usage: Libp2pFormationHarness [nodes >= 2] [rounds >= 1]");
    }
    int status = 0;
    try {
      run(n, rounds);
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    }
    // Ratis leaves non-daemon threads behind a failed start: do not wait for them.
    System.exit(status);
  }

  private static void run(int n, int rounds) throws Exception {
    for (int round = 1; round <= rounds; round++) {
      Path base = Files.createTempDirectory("hive-formation-bench");
      try {
        System.out.printf(Locale.ROOT, "round %d, %d nodes:%n", round, n);
        report("libp2p (DHT, one bootstrap each)", form(n, libp2pNodes(base.resolve("libp2p"), n, round)));
        report("seeds (tcp + TLS, one seed each)", form(n, seededNodes(base.resolve("seeds"), n)));
      } finally {
        TransferHarness.deleteTree(base);
      }
    }
  }

  private static void report(String way, long[] millis) {
    System.out.printf(Locale.ROOT, "  %-34s every start() returned %6.2f s, every node lists all ALIVE %6.2f s%n", way, millis[0] / 1000.0,
        millis[1] / 1000.0);
  }

  private static IntFunction<Hive.Builder> libp2pNodes(Path base, int n, int round) throws IOException {
    String token = "bench-" + UUID.randomUUID();
    int[] ports = new int[n];
    String[] multiaddrs = new String[n];
    for (int i = 0; i < n; i++) {
      ports[i] = TransferHarness.freePortPair();
      PeerKeys keys = PeerKeys.loadOrCreate(base.resolve("n" + i).resolve("libp2p").resolve("identity.key"));
      multiaddrs[i] = "/ip4/127.0.0.1/tcp/" + ports[i] + "/p2p/" + keys.peerId();
    }
    Random random = new Random(round);
    return i -> {
      // A random earlier node (node 0: node 1): the bootstrap links form a tree, so no group of
      // nodes knows only itself -- the DHT must carry the rest.
      int bootstrap = i == 0 ? 1 : random.nextInt(i);
      return builder(base, i, ports[i]).discovery("libp2p").transport("libp2p").joinToken(token)
          .setting("hive.libp2p.port", Integer.toString(ports[i])).setting("hive.libp2p.bind", "127.0.0.1")
          .setting("hive.libp2p.bootstrap", multiaddrs[bootstrap]);
    };
  }

  private static IntFunction<Hive.Builder> seededNodes(Path base, int n) throws IOException {
    String token = "bench-" + UUID.randomUUID();
    int[] ports = new int[n];
    for (int i = 0; i < n; i++) {
      ports[i] = TransferHarness.freePortPair();
    }
    return i -> {
      Hive.Builder b = builder(base, i, ports[i]).joinToken(token);
      return i == 0 ? b : b.seeds(List.of("127.0.0.1:" + ports[0]));
    };
  }

  private static Hive.Builder builder(Path base, int i, int port) {
    return Hive.builder().clusterName("bench").nodeName("n" + i).dataDir(base.resolve("n" + i)).port(port).bindAddress("127.0.0.1").httpPort(-1);
  }

  /** Starts every node at once; returns the millis until every start() returned and until every node lists n ALIVE. */
  private static long[] form(int n, IntFunction<Hive.Builder> node) throws Exception {
    List<Hive.Builder> builders = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      builders.add(node.apply(i));
    }
    ExecutorService starters = Executors.newFixedThreadPool(n);
    List<Future<Cluster>> starting = new ArrayList<>();
    List<Cluster> started = new ArrayList<>();
    long begin = System.nanoTime();
    try {
      for (Hive.Builder b : builders) {
        starting.add(starters.submit(b::start));
      }
      for (Future<Cluster> f : starting) {
        started.add(f.get());
      }
      long allStarted = System.nanoTime();
      while (!everyoneSeesAll(started, n)) {
        if (System.nanoTime() - begin > PATIENCE_MS * 1_000_000) {
          StringBuilder views = new StringBuilder();
          for (Cluster c : started) {
            views.append("\n  ").append(c.localNode().name()).append(" sees ")
                .append(c.nodes().stream().map(x -> x.name() + "=" + x.state()).sorted().toList());
          }
          throw new IllegalStateException(n + " nodes did not all list each other ALIVE in " + PATIENCE_MS / 1000 + " s:" + views);
        }
        Thread.sleep(20);
      }
      long allAlive = System.nanoTime();
      return new long[] {(allStarted - begin) / 1_000_000, (allAlive - begin) / 1_000_000};
    } finally {
      starters.shutdownNow();
      started.parallelStream().forEach(Cluster::close);
    }
  }

  private static boolean everyoneSeesAll(List<Cluster> clusters, int n) {
    for (Cluster c : clusters) {
      long alive = 0;
      for (Node node : c.nodes()) {
        alive += node.state() == NodeState.ALIVE ? 1 : 0;
      }
      if (alive < n) {
        return false;
      }
    }
    return true;
  }
}
