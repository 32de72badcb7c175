package dev.hive.benchmarks;

import dev.hive.core.sim.SwimSimulation;

/**
 * How a death spreads through SWIM membership as the cluster grows, in virtual time. Run:
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.SwimScaleSimulation [N...]</pre>
 *
 * <p>The baseline in the same run is the logarithm itself: {@code periods / log2(N)} should stay
 * flat while N grows, and requests per node per period should stay constant.
 */
public final class SwimScaleSimulation {
  private SwimScaleSimulation() {}

  public static void main(String[] args) {
    int[] sizes = args.length == 0 ? new int[] {125, 250, 500, 1000} : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
    System.out.printf("%8s %12s %14s %22s%n", "nodes", "periods", "periods/log2N", "requests/node/period");
    for (int n : sizes) {
      SwimSimulation.Result r = SwimSimulation.simulate(n, 42);
      System.out.printf("%8d %12.1f %14.2f %22.2f%n", n, r.periodsToAllDead(), r.periodsToAllDead() / (Math.log(n) / Math.log(2)), r.requestsPerNodePerPeriod());
    }
  }
}
