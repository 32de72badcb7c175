package dev.hive.examples.harness.consistency;

import dev.hive.examples.harness.NetnsHosts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs the consistency checker: {@code runs} runs of {@code minutes} each, on a fresh 5-node
 * cluster in network namespaces each time, 5 clients, a fault every 10 s (then a heal). Prints
 * each run's report and the totals; saves a failing run's history as JSON. Needs root.
 *
 * <pre>
 * java -cp examples/target/hive.jar dev.hive.examples.harness.consistency.ConsistencyHarness MINUTES RUNS
 * </pre>
 */
public final class ConsistencyHarness {
  private ConsistencyHarness() {}

  public static void main(String[] args) throws Exception {
    double minutes = args.length > 0 ? Double.parseDouble(args[0]) : 10;
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    if (!NetnsHosts.root()) {
      System.err.println("the consistency checker puts its nodes in network namespaces: run it as root");
      System.exit(2);
    }
    Path work = Files.createTempDirectory("hive-consistency");
    List<ConsistencyRun.Report> reports = new ArrayList<>();
    // A run stopped with Ctrl-C or SIGTERM still removes its daemons, workloads and namespaces.
    AtomicReference<NetnsCluster> current = new AtomicReference<>();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      NetnsCluster cluster = current.get();
      if (cluster != null) {
        try {
          cluster.close();
        } catch (Exception e) {
          System.err.println("could not remove the run's cluster: " + e);
        }
      }
    }, "consistency-cleanup"));
    for (int run = 1; run <= runs; run++) {
      Path dir = work.resolve("run-" + run);
      try (NetnsCluster cluster = new NetnsCluster(5, dir.resolve("data"), dir.resolve("logs"))) {
        current.set(cluster);
        cluster.start();
        ConsistencyRun checker = new ConsistencyRun(cluster, 5, Duration.ofMillis((long) (minutes * 60_000)), Duration.ofSeconds(10),
            ConsistencyRun.seed(), System.out::println);
        cluster.awaitFormed();
        ConsistencyRun.Report report = checker.run();
        reports.add(report);
        System.out.println("run " + run + ": " + (report.valid() ? "VALID" : "INVALID") + ": " + report);
        if (!report.valid()) {
          Path history = dir.resolve("history.json");
          checker.saveHistory(history);
          System.out.println("run " + run + ": history saved to " + history + ", daemon logs in " + dir.resolve("logs"));
        }
      }
    }
    long valid = reports.stream().filter(ConsistencyRun.Report::valid).count();
    System.out.printf("%d of %d runs valid; totals: ops %d, lost %d, resurrected %d, double applies %d, non-linearizable apps %d,"
            + " duplicate slots %d; convergence after the final heal: max %d ms%n",
        valid, reports.size(), reports.stream().mapToInt(ConsistencyRun.Report::ops).sum(), reports.stream().mapToInt(ConsistencyRun.Report::lost).sum(),
        reports.stream().mapToInt(ConsistencyRun.Report::resurrected).sum(), reports.stream().mapToInt(ConsistencyRun.Report::doubleApplies).sum(),
        reports.stream().mapToInt(r -> r.nonLinearizable().size()).sum(), reports.stream().mapToInt(ConsistencyRun.Report::duplicateSlots).sum(),
        reports.stream().mapToLong(ConsistencyRun.Report::convergeMillis).max().orElse(0));
    System.exit(valid == reports.size() ? 0 : 1);
  }
}
