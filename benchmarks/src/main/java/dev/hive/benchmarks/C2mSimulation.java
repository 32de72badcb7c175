package dev.hive.benchmarks;

import dev.hive.api.PlacementStrategy;
import dev.hive.core.scheduler.NodeCapacity;
import dev.hive.core.scheduler.Schedule;
import dev.hive.core.scheduler.Scheduler;
import dev.hive.core.scheduler.SlotRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Nomad's "C2M" at the scheduler: 2,000,000 replicas (2,000 apps of 1,000) on 6,100 simulated
 * nodes, binpack, placed from one snapshot as a leader would. Prints the wall time and placements
 * per second, then checks that every replica was placed and no node is over its capacity.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.C2mSimulation [replicas] [nodes]</pre>
 */
public final class C2mSimulation {
  private C2mSimulation() {}

  public static void main(String[] args) {
    int replicas = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
    int nodeCount = args.length > 1 ? Integer.parseInt(args[1]) : 6_100;
    int perApp = 1_000;
    List<NodeCapacity> nodes = new ArrayList<>();
    for (int i = 0; i < nodeCount; i++) {
      nodes.add(new NodeCapacity(String.format("host-%05d", i), 32_000, 128L << 30, 0, 0, Set.of(), Map.of("dc", "dc" + (i % 2)), Set.of(), Set.of("docker")));
    }
    List<SlotRequest> requests = new ArrayList<>();
    for (int app = 0; app * perApp < replicas; app++) {
      int n = Math.min(perApp, replicas - app * perApp);
      int[] ordinals = new int[n];
      for (int i = 0; i < n; i++) {
        ordinals[i] = i;
      }
      // Like C2M's containers: small, and each app pinned to one of two datacenters.
      requests.add(new SlotRequest(String.format("job-%05d", app), ordinals, "docker", 50, 100L << 20, List.of(), Map.of("dc", "dc" + (app % 2)), Set.of(),
          false, PlacementStrategy.BINPACK, List.of(), Map.of()));
    }
    // One warm-up round on a tenth of the input, as a leader that has been running would be.
    Scheduler.schedule(nodes, requests.subList(0, Math.max(1, requests.size() / 10)));
    long start = System.nanoTime();
    Schedule schedule = Scheduler.schedule(nodes, requests);
    long nanos = System.nanoTime() - start;
    long placed = schedule.placedCount();
    Map<String, long[]> used = new HashMap<>();
    for (int r = 0; r < requests.size(); r++) {
      int count = requests.get(r).ordinals().length;
      for (int i = 0; i < count; i++) {
        long[] u = used.computeIfAbsent(schedule.nodeOf(r, i), k -> new long[2]);
        u[0] += requests.get(r).cpuMillis();
        u[1] += requests.get(r).memoryBytes();
      }
    }
    boolean overcommitted = used.values().stream().anyMatch(u -> u[0] > 32_000 || u[1] > (128L << 30));
    System.out.printf("C2M-scale: %,d replicas on %,d nodes in %.2f s wall (%,.0f placements/s); placed %,d; nodes used %,d; over capacity: %s%n",
        replicas, nodeCount, nanos / 1e9, placed / (nanos / 1e9), placed, used.size(), overcommitted ? "YES" : "none");
    if (placed != replicas || overcommitted) {
      System.exit(1);
    }
  }
}
