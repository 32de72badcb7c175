package dev.hive.benchmarks;

import dev.hive.api.PlacementStrategy;
import dev.hive.core.scheduler.NodeCapacity;
import dev.hive.core.scheduler.SlotRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A cluster and a batch of pending slots for the scheduler benchmarks, with constraints on: every
 * app is pinned to a zone and to a kind of node (a quarter to high-memory nodes, the rest to
 * general ones), one in ten asks for anti-affinity, and one node in fifty is tainted. Each kind's
 * node size is scaled so that its share of the batch fits with 30% to spare, so that the figures
 * measure placements rather than refusals. Seeded: the same input in every run.
 */
final class SchedulerWorkload {
  static final String[] ZONES = {"a", "b", "c"};
  static final long[] CPU = {100, 250, 500, 1000, 2000};
  static final long[] MEMORY = {128L << 20, 256L << 20, 512L << 20, 1L << 30, 2L << 30};
  static final int REPLICAS_PER_APP = 5;

  final List<NodeCapacity> nodes;
  final List<SlotRequest> requests;

  SchedulerWorkload(int nodeCount, int pending, PlacementStrategy strategy) {
    SplittableRandom random = new SplittableRandom(42);
    requests = new ArrayList<>();
    long[] demandCpu = new long[2];
    long[] demandMemory = new long[2];
    for (int app = 0; app * REPLICAS_PER_APP < pending; app++) {
      int replicas = Math.min(REPLICAS_PER_APP, pending - app * REPLICAS_PER_APP);
      long cpu = CPU[random.nextInt(CPU.length)];
      long memory = MEMORY[random.nextInt(MEMORY.length)];
      int kind = app % 4 == 0 ? 1 : 0;
      Map<String, String> constraints = Map.of("zone", ZONES[app % 3], "kind", kind == 1 ? "highmem" : "general");
      int[] ordinals = new int[replicas];
      for (int i = 0; i < replicas; i++) {
        ordinals[i] = i;
      }
      requests.add(new SlotRequest(String.format("app-%06d", app), ordinals, "process", cpu, memory, List.of(), constraints,
          app % 50 == 0 ? Set.of("dedicated") : Set.of(), app % 10 == 0, strategy, List.of(), Map.of()));
      demandCpu[kind] += cpu * replicas;
      demandMemory[kind] += memory * replicas;
    }
    // A general node offers 16 cores and 64 GiB, a high-memory node (one in five) 32 and 256 GiB,
    // grown where the batch needs more; tainted nodes take almost nothing, hence 1.3 x 50/49.
    double[] scale = new double[2];
    int[] count = {nodeCount - (nodeCount + 4) / 5, (nodeCount + 4) / 5};
    long[] baseCpu = {16_000, 32_000};
    long[] baseMemory = {64L << 30, 256L << 30};
    for (int k = 0; k < 2; k++) {
      double spare = 1.3 * 50 / 49;
      scale[k] = Math.max(1.0, Math.max(spare * demandCpu[k] / ((double) baseCpu[k] * count[k]), spare * demandMemory[k] / ((double) baseMemory[k] * count[k])));
    }
    nodes = new ArrayList<>();
    for (int i = 0; i < nodeCount; i++) {
      boolean highmem = i % 5 == 0;
      int k = highmem ? 1 : 0;
      long cpu = (long) (baseCpu[k] * scale[k]);
      long memory = (long) (baseMemory[k] * scale[k]);
      nodes.add(new NodeCapacity(String.format("node-%06d", i), cpu, memory, 0, 0, Set.of(),
          Map.of("zone", ZONES[i % 3], "kind", highmem ? "highmem" : "general"), i % 50 == 7 ? Set.of("dedicated=db") : Set.of(), Set.of("process")));
    }
  }

  int pendingSlots() {
    return requests.stream().mapToInt(r -> r.ordinals().length).sum();
  }
}
