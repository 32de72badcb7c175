package dev.hive.benchmarks;

import dev.hive.api.AppSpec;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.consensus.LocalCommandLog;
import dev.hive.core.consensus.RaftCommandLog;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import dev.hive.core.storage.sqlite.SqliteStoreProvider;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.Store;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Commands committed and applied per second, with their latency: three Raft voters on loopback
 * (gRPC, mutual TLS) against the single-node local log on SQLite, in the same run, with 1 and
 * with 64 concurrent clients. Each command is a scale of one app, submitted through a follower
 * as well as the leader (clients alternate), returning once applied on the submitting node.
 *
 * <pre>
 * java -Dorg.slf4j.simpleLogger.defaultLogLevel=off -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.CommitThroughputHarness [SECONDS [ROUNDS]]
 * </pre>
 */
public final class CommitThroughputHarness {
  private CommitThroughputHarness() {}

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path dir = Files.createTempDirectory("hive-commit-bench");
    try (Store store = new SqliteStoreProvider().create(new ProviderConfig(dir.resolve("local"), "bench", "n1", Clock.systemUTC(), Map.of()))) {
      LocalCommandLog local = new LocalCommandLog(store, LocalCommandLog.SNAPSHOT_EVERY);
      prepare(local);
      for (int clients : new int[] {1, 64}) {
        measure("local (SQLite)", List.of(local), clients, seconds, rounds, () -> 0L);
      }
    }
    List<RaftCommandLog> raft = threeVoters(dir);
    try {
      prepare(raft.get(0));
      for (int clients : new int[] {1, 64}) {
        measure("raft, 3 voters", new ArrayList<>(raft), clients, seconds, rounds, raft.get(0)::appliedIndex);
      }
    } finally {
      raft.forEach(RaftCommandLog::close);
    }
    System.exit(0);
  }

  private static void prepare(CommandLog log) {
    log.submit(new Command.RegisterNode(new NodeRecord("n1", "bench", "127.0.0.1", 2, 1L << 30, Map.of(), List.of("process"), 0)));
    log.submit(new Command.DeployApp(AppSpec.builder("bench").command("true").replicas(0).build(), 0));
  }

  private static List<RaftCommandLog> threeVoters(Path dir) throws Exception {
    ClusterPki ca = ClusterPki.createCluster(Files.createDirectories(dir.resolve("tls-a")), "bench", "a");
    List<RaftCommandLog> logs = new ArrayList<>();
    String aAddress = "127.0.0.1:" + freePort();
    RaftCommandLog a = RaftCommandLog.start("bench", "a", dir.resolve("a"), "127.0.0.1", aAddress, List.of(new RaftCommandLog.Peer("a", aAddress, true)),
        ca, RaftCommandLog.Timing.DEFAULTS);
    logs.add(a);
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!a.isLeader() && System.nanoTime() < giveUp) {
      Thread.sleep(50);
    }
    for (String id : List.of("b", "c")) {
      KeyPair keys = ClusterPki.newKeyPair();
      ClusterPki pki = ClusterPki.joined(Files.createDirectories(dir.resolve("tls-" + id)), keys, ca.issue(id, keys.getPublic()), ca.caCertificate(), null);
      String address = "127.0.0.1:" + freePort();
      List<RaftCommandLog.Peer> conf = new ArrayList<>(a.configuration());
      conf.add(new RaftCommandLog.Peer(id, address, false));
      RaftCommandLog node = RaftCommandLog.start("bench", id, dir.resolve(id), "127.0.0.1", address, conf, pki, RaftCommandLog.Timing.DEFAULTS);
      logs.add(node);
      a.addPeer(id, address);
      a.setConfiguration(a.configuration(), a.configuration().stream().map(p -> new RaftCommandLog.Peer(p.id(), p.address(), p.voter() || p.id().equals(id))).toList());
    }
    return logs;
  }

  private record Result(long commands, double seconds, long[] latenciesNanos, double cores) {
    double perSecond() {
      return commands / seconds;
    }
  }

  /**
   * Runs {@code clients} threads submitting scales for {@code seconds}, once to warm up, then
   * {@code rounds} times, printing each round and the median round. The warm-up is as long as a
   * round: for the first 20 s or so, C2 compiling gRPC, Netty, Ratis and Jackson took most of a
   * core, and a 10 s run measured that (1 client, 1.85 cores busy for 150 commands/s). Rounds,
   * because runs of the same build differed by up to a third (64 clients: 4,235 to 5,647/s).
   */
  private static void measure(String what, List<? extends CommandLog> nodes, int clients, int seconds, int rounds, LongSupplier logIndex)
      throws Exception {
    run(nodes, clients, seconds);
    List<Result> results = new ArrayList<>();
    long commands = 0;
    long entriesBefore = logIndex.getAsLong();
    for (int round = 1; round <= rounds; round++) {
      Result r = run(nodes, clients, seconds);
      results.add(r);
      commands += r.commands();
      print(what + " #" + round, clients, r);
    }
    results.sort(java.util.Comparator.comparingDouble(Result::perSecond));
    print(what + " median", clients, results.get(results.size() / 2));
    long entries = logIndex.getAsLong() - entriesBefore;
    if (entries > 0) {
      // Ratis adds a metadata entry (the commit index) after commits: one client makes two entries per command.
      System.out.printf("%-22s %3d clients: %.1f commands per log entry%n", what, clients, (double) commands / entries);
    }
  }

  private static Result run(List<? extends CommandLog> nodes, int clients, int seconds) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    long cpuBefore = processCpuNanos();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    List<Future<long[]>> futures = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      CommandLog node = nodes.get(c % nodes.size());
      int client = c;
      futures.add(pool.submit(() -> {
        long[] latencies = new long[1 << 16];
        int n = 0;
        int replicas = client;
        while (System.nanoTime() < end) {
          long t0 = System.nanoTime();
          node.submit(new Command.ScaleApp("bench", 1 + replicas++ % 10));
          if (n == latencies.length) {
            latencies = Arrays.copyOf(latencies, n * 2);
          }
          latencies[n++] = System.nanoTime() - t0;
        }
        return Arrays.copyOf(latencies, n);
      }));
    }
    List<long[]> all = new ArrayList<>();
    for (Future<long[]> f : futures) {
      all.add(f.get());
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    double cores = (processCpuNanos() - cpuBefore) / 1e9 / elapsed;
    pool.shutdown();
    long[] merged = all.stream().flatMapToLong(Arrays::stream).sorted().toArray();
    return new Result(merged.length, elapsed, merged, cores);
  }

  /** CPU time of this whole process (every voter, every client), to tell a saturated run from one that waits. */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static void print(String what, int clients, Result r) {
    long[] l = r.latenciesNanos();
    double p50 = l.length == 0 ? Double.NaN : l[l.length / 2] / 1e6;
    double p99 = l.length == 0 ? Double.NaN : l[Math.min(l.length - 1, (int) (l.length * 0.99))] / 1e6;
    System.out.printf("%-22s %3d clients: %8.0f commands/s, p50 %6.2f ms, p99 %7.2f ms (%d commands in %.1f s, %.2f cores busy)%n", what,
        clients, r.perSecond(), p50, p99, r.commands(), r.seconds(), r.cores());
  }
}
