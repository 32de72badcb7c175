package dev.hive.benchmarks;

import dev.hive.core.sim.FollowSimulation;

/**
 * How a committed change reaches every client as the number of clients on three servers grows,
 * in virtual time, on the real feed and client code. Run:
 *
 * <pre>java -Xmx16g -Dorg.slf4j.simpleLogger.defaultLogLevel=off -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.FollowScaleSimulation [CLIENTS...]</pre>
 *
 * <p>The baseline in the same run is the smallest size: per-client figures should stay flat as
 * the clients grow; the reach time shows how the servers' fan-out grows.
 */
public final class FollowScaleSimulation {
  private FollowScaleSimulation() {}

  public static void main(String[] args) {
    int[] sizes = args.length == 0 ? new int[] {1000, 10_000, 100_000} : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
    System.out.printf("%8s %8s %10s %10s %10s %16s %16s %22s %12s%n", "clients", "servers", "p50 ms", "p99 ms", "max ms", "msgs/client/chg",
        "bytes/client/chg", "server msgs/client/s", "server busy");
    for (int n : sizes) {
      long started = System.nanoTime();
      FollowSimulation.Result r = FollowSimulation.simulate(n, 3, 10);
      System.out.printf("%8d %8d %10.1f %10.1f %10.1f %16.2f %16.1f %22.2f %11.1f%%   (%.0f s to simulate)%n", r.clients(), r.servers(), r.reachP50Ms(),
          r.reachP99Ms(), r.reachMaxMs(), r.messagesPerClientPerChange(), r.bytesPerClientPerChange(), r.busiestServerMessagesPerClientPerSecond(),
          100 * r.busiestServerBusyShare(), (System.nanoTime() - started) / 1e9);
    }
  }
}
