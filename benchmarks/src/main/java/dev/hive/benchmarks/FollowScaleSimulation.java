package dev.hive.benchmarks;

import dev.hive.core.sim.FollowSimulation;

/**
 * How a committed change reaches every client as the number of clients on three servers grows,
 * in virtual time, on the real feed and client code. Run:
 *
 * <pre>java -Xmx16g -Dorg.slf4j.simpleLogger.defaultLogLevel=off -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.FollowScaleSimulation [CLIENTS...]</pre>
 *
 * <p>Each size runs twice: "flat", every client following a server (the baseline: Nomad's and
 * Consul's layout), and "relayed", Hive's, where a server feeds up to 512 clients and the rest
 * follow clients that relay. Per-client figures should stay flat as the clients grow; the reach
 * time shows how the fan-out grows (flat: with the clients per server; relayed: with the depth of
 * the tree). {@code -Dlayouts=relayed} skips the flat runs, which take long past 10,000 clients.
 */
public final class FollowScaleSimulation {
  private FollowScaleSimulation() {}

  public static void main(String[] args) {
    int[] sizes = args.length == 0 ? new int[] {1000, 10_000, 100_000} : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
    java.util.List<String> layouts = java.util.List.of(System.getProperty("layouts", "flat,relayed").split(","));
    System.out.printf("%8s %8s %8s %6s %10s %10s %10s %16s %16s %22s %12s %12s%n", "layout", "clients", "servers", "hops", "p50 ms", "p99 ms", "max ms",
        "msgs/client/chg", "bytes/client/chg", "server msgs/client/s", "server busy", "client busy");
    for (int n : sizes) {
      for (String layout : layouts) {
        long started = System.nanoTime();
        FollowSimulation.Result r = FollowSimulation.simulate(n, 3, 10, layout.equals("flat") ? Integer.MAX_VALUE : dev.hive.core.follow.ChangeFeed.SERVER_FOLLOWERS);
        System.out.printf("%8s %8d %8d %6d %10.1f %10.1f %10.1f %16.2f %16.1f %22.2f %11.1f%% %11.1f%%   (%.0f s to simulate)%n", layout, r.clients(),
            r.servers(), r.deepestHops(), r.reachP50Ms(), r.reachP99Ms(), r.reachMaxMs(), r.messagesPerClientPerChange(), r.bytesPerClientPerChange(),
            r.busiestServerMessagesPerClientPerSecond(), 100 * r.busiestServerBusyShare(), 100 * r.busiestClientBusyShare(),
            (System.nanoTime() - started) / 1e9);
      }
    }
  }
}
