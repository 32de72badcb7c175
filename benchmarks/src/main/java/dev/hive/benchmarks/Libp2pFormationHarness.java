package dev.hive.benchmarks;

import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.api.Node;
import dev.hive.api.NodeState;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import dev.hive.spi.DiscoveryProvider;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.ProviderSelection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * N nodes in this JVM on loopback start at once and find each other; four ways, in the same run,
 * chosen with {@code -Dways=dht,udp,libp2p,seeds}:
 *
 * <ul>
 *   <li>dht: N discovery plugins {@code libp2p} alone (no consensus, no membership), each given
 *       one bootstrap peer (a random node before it in the list, node 0: node 1, so the links form
 *       a tree and only the DHT carries the rest): the time until every one has found all the
 *       others through the Kademlia DHT and the cluster's gossipsub topic;
 *   <li>udp: the same with discovery {@code udp} (signed broadcast beacons), the baseline on one
 *       LAN;
 *   <li>libp2p: N Hive nodes, {@code --discovery libp2p --transport libp2p --bootstrap-expect N},
 *       one bootstrap peer each: they find each other, agree on a founder, join it over libp2p and
 *       its Raft group; the time until every node lists N ALIVE members;
 *   <li>seeds: N Hive nodes over tcp with mutual TLS, every node given node 0's address as its
 *       one seed -- the baseline users have today.
 * </ul>
 *
 * <p>The libp2p identities are made before the start, as an operator would have them, so that
 * every bootstrap multiaddr is known up front.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.Libp2pFormationHarness [nodes] [rounds]</pre>
 */
public final class Libp2pFormationHarness {
  private static final long PATIENCE_MS = Long.getLong("patience.ms", 180_000);
  private static final String FOUND = "every one found all others";
  private static final String ALIVE = "every node lists all ALIVE";
  /** Which ways to run: {@code -Dways=dht} alone while working on one. */
  private static final List<String> WAYS = List.of(System.getProperty("ways", "dht,udp,libp2p,seeds").split(","));

  /** Settings for every Hive node of the libp2p and seeds ways, from {@code -Dhive.K=V} (say, {@code -Dhive.swim.period=1s}). */
  private static final Map<String, String> SETTINGS = System.getProperties().stringPropertyNames().stream()
      .filter(k -> k.startsWith("hive.")).collect(java.util.stream.Collectors.toMap(k -> k, System::getProperty));

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
        if (WAYS.contains("dht")) {
          report("discovery libp2p (DHT + gossipsub)", FOUND, discover(n, dhtDiscoveries(base.resolve("dht"), n, round)));
        }
        if (WAYS.contains("udp")) {
          report("discovery udp (broadcast beacons)", FOUND, discover(n, udpDiscoveries(base.resolve("udp"), n)));
        }
        if (WAYS.contains("libp2p")) {
          report("libp2p (DHT, one bootstrap each)", ALIVE, form(n, libp2pNodes(base.resolve("libp2p"), n, round)));
        }
        if (WAYS.contains("seeds")) {
          report("seeds (tcp + TLS, one seed each)", ALIVE, form(n, seededNodes(base.resolve("seeds"), n)));
        }
      } finally {
        try {
          TransferHarness.deleteTree(base);
        } catch (IOException e) {
          // A node's threads may still be writing after a failed start: report, do not hide the failure.
          System.err.println("could not remove all of " + base + ": " + e);
        }
      }
    }
  }

  private static void report(String way, String done, long[] millis) {
    System.out.printf(Locale.ROOT, "  %-34s every start() returned %6.2f s, %s %6.2f s%s%n", way, millis[0] / 1000.0, done, millis[1] / 1000.0,
        millis.length > 2 ? String.format(Locale.ROOT, "; per node %d threads, %.1f MiB RSS; %s", millis[2], millis[3] / 1024.0, ROLES.get()) : "");
  }

  /** The roles of the last formed cluster, as its first node sees them. */
  private static final java.util.concurrent.atomic.AtomicReference<String> ROLES = new java.util.concurrent.atomic.AtomicReference<>("");

  /** This process's resident memory in KiB, from /proc (0 where there is none). */
  private static long rssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      // Reported as 0.
    }
    return 0;
  }

  private static IntFunction<Hive.Builder> libp2pNodes(Path base, int n, int round) throws IOException {
    String token = "bench-" + UUID.randomUUID();
    Libp2pPeers peers = new Libp2pPeers(base, n, round);
    return i -> {
      // As an operator forming a cluster of n nodes would (`--bootstrap-expect n`): without it, a
      // node that has not heard of the lowest id within the quiet window founds a second cluster.
      Hive.Builder b = builder(base, i, peers.ports[i]).discovery("libp2p").transport("libp2p").joinToken(token)
          .setting("hive.formation.expect", Integer.toString(n));
      peers.settings(i).forEach(b::setting);
      return b;
    };
  }

  /** Ports, identities and one bootstrap each, made before the start as an operator would. */
  private static final class Libp2pPeers {
    final int[] ports;
    final String[] multiaddrs;
    final int[] bootstrap;

    Libp2pPeers(Path base, int n, int round) throws IOException {
      ports = new int[n];
      multiaddrs = new String[n];
      bootstrap = new int[n];
      Random random = new Random(round);
      for (int i = 0; i < n; i++) {
        ports[i] = TransferHarness.freePortPair();
        PeerKeys keys = PeerKeys.loadOrCreate(base.resolve("n" + i).resolve("libp2p").resolve("identity.key"));
        multiaddrs[i] = "/ip4/127.0.0.1/tcp/" + ports[i] + "/p2p/" + keys.peerId();
        // A random earlier node (node 0: node 1): the bootstrap links form a tree, so no group of
        // nodes knows only itself -- the DHT must carry the rest.
        bootstrap[i] = i == 0 ? 1 : random.nextInt(i);
      }
    }

    Map<String, String> settings(int i) {
      return Map.of("hive.libp2p.port", Integer.toString(ports[i]), "hive.libp2p.bind", "127.0.0.1",
          "hive.libp2p.bootstrap", multiaddrs[bootstrap[i]]);
    }
  }

  private static IntFunction<Discovery> dhtDiscoveries(Path base, int n, int round) throws IOException {
    String token = "bench-" + UUID.randomUUID();
    Libp2pPeers peers = new Libp2pPeers(base, n, round);
    return i -> {
      Map<String, String> settings = new HashMap<>(peers.settings(i));
      settings.put(Discovery.TOKEN_SETTING, token);
      return discovery("libp2p", base.resolve("n" + i), i, settings);
    };
  }

  private static IntFunction<Discovery> udpDiscoveries(Path base, int n) throws IOException {
    String token = "bench-" + UUID.randomUUID();
    String port = Integer.toString(TransferHarness.freePortPair());
    return i -> discovery("udp", base.resolve("n" + i), i, Map.of(Discovery.TOKEN_SETTING, token, "hive.udp.port", port));
  }

  private static Discovery discovery(String name, Path dataDir, int i, Map<String, String> settings) {
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ProviderConfig config = new ProviderConfig(dataDir, "bench", "node-" + i, Clock.systemUTC(), settings);
    return ProviderSelection.load("discovery", DiscoveryProvider.class, List.of(), Libp2pFormationHarness.class.getClassLoader())
        .select(name, config, Discovery.class).plugin();
  }

  /**
   * Starts n discoveries at once, each announcing itself as a member; returns the millis until
   * every start() returned and until every one has found all the others.
   */
  private static long[] discover(int n, IntFunction<Discovery> make) throws Exception {
    List<Discovery> discoveries = new ArrayList<>();
    List<Set<String>> found = new ArrayList<>();
    long[] complete = new long[n];
    AtomicInteger losses = new AtomicInteger();
    try {
      for (int i = 0; i < n; i++) {
        discoveries.add(make.apply(i));
        found.add(ConcurrentHashMap.newKeySet());
      }
      long begin = System.nanoTime();
      for (int i = 0; i < n; i++) {
        Set<String> mine = found.get(i);
        discoveries.get(i).start(new DiscoveredPeer("node-" + i, "127.0.0.1", 20_000 + i), new Discovery.Listener() {
          @Override
          public void peerFound(DiscoveredPeer peer) {
            mine.add(peer.nodeId());
          }

          @Override
          public void peerLost(DiscoveredPeer peer) {
            losses.incrementAndGet();
            mine.remove(peer.nodeId());
          }
        });
      }
      long allStarted = System.nanoTime();
      while (found.stream().anyMatch(f -> f.size() < n - 1)) {
        for (int i = 0; i < n; i++) {
          if (complete[i] == 0 && found.get(i).size() == n - 1) {
            complete[i] = System.nanoTime() - begin;
          }
        }
        if (System.nanoTime() - begin > PATIENCE_MS * 1_000_000) {
          throw new IllegalStateException(n + " discoveries did not all find each other in " + PATIENCE_MS / 1000 + " s; found: "
              + found.stream().map(Set::size).toList());
        }
        Thread.sleep(20);
      }
      long allFound = System.nanoTime();
      for (int i = 0; i < n; i++) {
        complete[i] = complete[i] == 0 ? allFound - begin : complete[i];
      }
      Arrays.sort(complete);
      System.out.printf(Locale.ROOT, "    (a node had found all the others after: median %.2f s, 90th percentile %.2f s; peers lost meanwhile: %d)%n",
          complete[n / 2] / 1e9, complete[n * 9 / 10] / 1e9, losses.get());
      return new long[] {(allStarted - begin) / 1_000_000, (allFound - begin) / 1_000_000};
    } finally {
      discoveries.parallelStream().forEach(Discovery::close);
    }
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
    // A node gives up joining after the harness's own patience, not the 60 s default: on two
    // cores, fifty nodes joining at once take longer than that. The process runtime: fifty
    // nodes each watching a container engine's events would measure the engine, not formation.
    Hive.Builder b = Hive.builder().clusterName("bench").nodeName("n" + i).dataDir(base.resolve("n" + i)).port(port).bindAddress("127.0.0.1")
        .httpPort(-1).runtime("process").setting("hive.join.timeout", PATIENCE_MS / 1000 + "s");
    SETTINGS.forEach(b::setting);
    return b;
  }

  /** Starts every node at once; returns the millis until every start() returned and until every node lists n ALIVE. */
  private static long[] form(int n, IntFunction<Hive.Builder> node) throws Exception {
    List<Hive.Builder> builders = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      builders.add(node.apply(i));
    }
    int threadsBefore = Thread.activeCount();
    long rssBefore = rssKib();
    ExecutorService starters = Executors.newFixedThreadPool(n);
    List<Future<Cluster>> starting = new ArrayList<>();
    List<Cluster> started = new ArrayList<>();
    long begin = System.nanoTime();
    try {
      for (Hive.Builder b : builders) {
        starting.add(starters.submit(b::start));
      }
      // Every node that started is collected, so that a failure to start one closes all the others.
      Exception failed = null;
      for (Future<Cluster> f : starting) {
        try {
          started.add(f.get());
        } catch (java.util.concurrent.ExecutionException e) {
          failed = failed == null ? e : failed;
        }
      }
      if (failed != null) {
        throw failed;
      }
      long allStarted = System.nanoTime();
      long lastProgress = allStarted;
      if (PROGRESS) {
        progress(started, (allStarted - begin) / 1_000_000);
      }
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
        if (PROGRESS && (System.nanoTime() - lastProgress) > 2_000_000_000L) {
          lastProgress = System.nanoTime();
          progress(started, (lastProgress - begin) / 1_000_000);
        }
      }
      long allAlive = System.nanoTime();
      // Threads and memory with every node up, less what this JVM had before (the harness itself).
      long threads = (Thread.activeCount() - threadsBefore - n) / n; // less the n threads that started them
      long rss = (rssKib() - rssBefore) / n;
      Map<String, Long> roles = new java.util.TreeMap<>();
      started.get(0).nodes().forEach(x -> roles.merge(x.role().name(), 1L, Long::sum));
      ROLES.set(roles.toString());
      return new long[] {(allStarted - begin) / 1_000_000, (allAlive - begin) / 1_000_000, threads, rss};
    } finally {
      starters.shutdownNow();
      started.parallelStream().forEach(Cluster::close);
    }
  }

  /** With {@code -Dprogress=true}: how many nodes each node lists, by state, while they form. */
  private static final boolean PROGRESS = Boolean.getBoolean("progress");

  private static void progress(List<Cluster> clusters, long millis) {
    Map<String, Integer> views = new java.util.TreeMap<>();
    for (Cluster c : clusters) {
      Map<NodeState, Integer> byState = new java.util.EnumMap<>(NodeState.class);
      c.nodes().forEach(x -> byState.merge(x.state(), 1, Integer::sum));
      views.merge(c.localNode().role() + byState.toString(), 1, Integer::sum);
    }
    System.out.printf(Locale.ROOT, "    %6.2f s: %s%n", millis / 1000.0, views);
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
