package dev.hive.core.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.PlacementStrategy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Properties of the scheduler over random clusters and batches. Each property runs a fixed number
 * of tries drawn from a fixed seed, so every run checks the same cases; a failure names its try's
 * inputs, and {@link Case} rebuilds the cluster and batch from them.
 */
class SchedulerPropertiesTest {
  private static final String[] ZONES = {"a", "b", "c"};

  /** One try's inputs, drawn from the property's generator. */
  @FunctionalInterface
  private interface Try {
    void check(Random inputs, int attempt);
  }

  /**
   * Runs {@code tries} tries of a property, their inputs drawn from {@code seed}. A failing try
   * names its inputs: each property puts them in its assertion descriptions.
   */
  private static void forTries(int tries, long seed, Try property) {
    Random inputs = new Random(seed);
    for (int attempt = 0; attempt < tries; attempt++) {
      property.check(inputs, attempt);
    }
  }

  /**
   * A whole number in {@code [min, max]}: the bounds on the first two tries, where off-by-one
   * mistakes live, then uniformly.
   */
  private static int between(Random inputs, int attempt, int min, int max) {
    if (attempt == 0) {
      return min;
    }
    if (attempt == 1) {
      return max;
    }
    return min + inputs.nextInt(max - min + 1);
  }

  /** A random cluster and batch, from a seed, so that a failing case can be replayed. */
  static final class Case {
    final List<NodeCapacity> nodes = new ArrayList<>();
    final List<SlotRequest> requests = new ArrayList<>();

    Case(long seed, int nodeCount, int appCount) {
      Random r = new Random(seed);
      for (int i = 0; i < nodeCount; i++) {
        Set<Integer> ports = r.nextInt(4) == 0 ? Set.of(8000 + r.nextInt(3)) : Set.of();
        long cpu = 1000L * (1 + r.nextInt(16));
        long memory = (1L + r.nextInt(32)) << 30;
        long usedCpu = r.nextInt(3) == 0 ? r.nextInt((int) cpu) : 0;
        long usedMemory = r.nextInt(3) == 0 ? (long) (r.nextDouble() * memory) : 0;
        nodes.add(new NodeCapacity("n" + i, cpu, memory, usedCpu, usedMemory, ports, Map.of("zone", ZONES[r.nextInt(3)]),
            r.nextInt(6) == 0 ? Set.of("dedicated=db") : Set.of(), r.nextInt(8) == 0 ? Set.of("docker") : Set.of("process", "docker")));
      }
      for (int a = 0; a < appCount; a++) {
        int replicas = 1 + r.nextInt(12);
        int[] ordinals = new int[replicas];
        for (int i = 0; i < replicas; i++) {
          ordinals[i] = i;
        }
        List<Integer> hostPorts = r.nextInt(5) == 0 ? List.of(8000 + r.nextInt(3)) : List.of();
        Map<String, String> constraints = r.nextInt(3) == 0 ? Map.of("zone", ZONES[r.nextInt(3)]) : Map.of();
        Set<String> tolerations = r.nextInt(4) == 0 ? Set.of(r.nextBoolean() ? "dedicated" : "dedicated=db") : Set.of();
        requests.add(new SlotRequest("app" + a, ordinals, r.nextInt(6) == 0 ? "docker" : "process", 50L * (1 + r.nextInt(60)),
            (64L << 20) * (1 + r.nextInt(64)), hostPorts, constraints, tolerations, r.nextInt(3) == 0,
            r.nextBoolean() ? PlacementStrategy.BINPACK : PlacementStrategy.SPREAD, List.of(), Map.of()));
      }
    }
  }

  @Test
  void noPlacementOvercommitsANodeReusesAHostPortOrBreaksAFilter() {
    forTries(300, 0x5c4ed01e1L, (inputs, attempt) -> {
      long seed = inputs.nextLong();
      int nodeCount = between(inputs, attempt, 1, 40);
      int appCount = between(inputs, attempt, 1, 25);
      noPlacementOvercommitsANodeReusesAHostPortOrBreaksAFilter(seed, nodeCount, appCount);
    });
  }

  private static void noPlacementOvercommitsANodeReusesAHostPortOrBreaksAFilter(long seed, int nodeCount, int appCount) {
    String inputs = "Case(" + seed + "L, " + nodeCount + ", " + appCount + ")";
    Case c = new Case(seed, nodeCount, appCount);
    Schedule schedule = Scheduler.schedule(c.nodes, c.requests);
    Map<String, NodeCapacity> byId = new HashMap<>();
    c.nodes.forEach(n -> byId.put(n.id(), n));
    Map<String, long[]> used = new HashMap<>();
    Map<String, Set<Integer>> ports = new HashMap<>();
    c.nodes.forEach(n -> {
      used.put(n.id(), new long[] {n.usedCpuMillis(), n.usedMemoryBytes()});
      ports.put(n.id(), new HashSet<>(n.usedHostPorts()));
    });
    for (int r = 0; r < c.requests.size(); r++) {
      SlotRequest q = c.requests.get(r);
      Set<String> nodesOfApp = new HashSet<>();
      for (Map.Entry<Integer, String> p : schedule.placements(r).entrySet()) {
        NodeCapacity node = byId.get(p.getValue());
        long[] u = used.get(node.id());
        u[0] += q.cpuMillis();
        u[1] += q.memoryBytes();
        assertThat(u[0]).as("%s: CPU on %s", inputs, node.id()).isLessThanOrEqualTo(node.cpuMillis());
        assertThat(u[1]).as("%s: memory on %s", inputs, node.id()).isLessThanOrEqualTo(node.memoryBytes());
        for (int port : q.hostPorts()) {
          assertThat(ports.get(node.id()).add(port)).as("%s: host port %d on %s", inputs, port, node.id()).isTrue();
        }
        assertThat(node.runtimes()).as(inputs).contains(q.runtime());
        q.constraints().forEach((k, v) -> assertThat(node.labels()).as(inputs).containsEntry(k, v));
        for (String taint : node.taints()) {
          assertThat(q.tolerations().contains(taint) || q.tolerations().contains(taint.substring(0, taint.indexOf('=')))).as(inputs + ": tolerates " + taint).isTrue();
        }
        if (q.antiAffinity()) {
          assertThat(nodesOfApp.add(node.id())).as("%s: anti-affinity of %s on %s", inputs, q.app(), node.id()).isTrue();
        }
      }
      boolean allPlaced = schedule.placements(r).size() == q.ordinals().length;
      assertThat(schedule.unplacedReason(r) == null).as(inputs).isEqualTo(allPlaced);
    }
  }

  @Test
  void theScheduleDoesNotDependOnTheOrderNodesAreListedIn() {
    forTries(100, 0x0dde7L, (inputs, attempt) -> {
      long seed = inputs.nextLong();
      int nodeCount = between(inputs, attempt, 1, 30);
      theScheduleDoesNotDependOnTheOrderNodesAreListedIn(seed, nodeCount);
    });
  }

  private static void theScheduleDoesNotDependOnTheOrderNodesAreListedIn(long seed, int nodeCount) {
    String inputs = "Case(" + seed + "L, " + nodeCount + ", 10)";
    Case c = new Case(seed, nodeCount, 10);
    List<NodeCapacity> shuffled = new ArrayList<>(c.nodes);
    Collections.shuffle(shuffled, new Random(seed ^ 1));
    Schedule a = Scheduler.schedule(c.nodes, c.requests);
    Schedule b = Scheduler.schedule(shuffled, c.requests);
    for (int r = 0; r < c.requests.size(); r++) {
      assertThat(b.placements(r)).as(inputs).isEqualTo(a.placements(r));
      assertThat(b.unplacedReason(r)).as(inputs).isEqualTo(a.unplacedReason(r));
    }
  }

  @Test
  void binpackUsesAtMostFivePercentMoreNodesThanFirstFitDecreasing() {
    forTries(60, 0xb1a9ac4L, (inputs, attempt) -> {
      long seed = inputs.nextLong();
      int slots = between(inputs, attempt, 50, 400);
      long nodeCores = between(inputs, attempt, 4, 64);
      binpackUsesAtMostFivePercentMoreNodesThanFirstFitDecreasing(seed, slots, nodeCores);
    });
  }

  private static void binpackUsesAtMostFivePercentMoreNodesThanFirstFitDecreasing(long seed, int slots, long nodeCores) {
    String inputs = "seed " + seed + ", " + slots + " slots, " + nodeCores + " cores a node";
    Random r = new Random(seed);
    int nodeCount = slots;
    List<NodeCapacity> nodes = new ArrayList<>();
    for (int i = 0; i < nodeCount; i++) {
      nodes.add(new NodeCapacity(String.format("n%04d", i), nodeCores * 1000, nodeCores << 32, 0, 0, Set.of(), Map.of(), Set.of(), Set.of("process")));
    }
    List<SlotRequest> requests = new ArrayList<>();
    List<long[]> items = new ArrayList<>();
    int left = slots;
    for (int a = 0; left > 0; a++) {
      int replicas = Math.min(left, 1 + r.nextInt(8));
      left -= replicas;
      long cpu = 100L * (1 + r.nextInt((int) nodeCores * 5));
      long memory = (256L << 20) * (1 + r.nextInt((int) nodeCores * 8));
      int[] ordinals = new int[replicas];
      for (int i = 0; i < replicas; i++) {
        ordinals[i] = i;
        items.add(new long[] {cpu, memory});
      }
      requests.add(new SlotRequest("app" + a, ordinals, "process", cpu, memory, List.of(), Map.of(), Set.of(), false, PlacementStrategy.BINPACK, List.of(), Map.of()));
    }
    Schedule schedule = Scheduler.schedule(nodes, requests);
    Set<String> used = new HashSet<>();
    for (int i = 0; i < requests.size(); i++) {
      used.addAll(schedule.placements(i).values());
    }
    assertThat(schedule.placedCount()).as(inputs).isEqualTo(slots);
    int ffd = firstFitDecreasing(items, nodeCores * 1000, nodeCores << 32);
    assertThat(used.size()).as("%s: binpack nodes vs first-fit-decreasing %d", inputs, ffd).isLessThanOrEqualTo(Math.max(ffd + 1, (int) Math.floor(ffd * 1.05)));
  }

  /** The textbook: largest first (by dominant share), each into the first node it fits. */
  private static int firstFitDecreasing(List<long[]> items, long cpu, long memory) {
    List<long[]> sorted = new ArrayList<>(items);
    sorted.sort(Comparator.comparingDouble((long[] i) -> -Math.max((double) i[0] / cpu, (double) i[1] / memory)));
    List<long[]> bins = new ArrayList<>();
    for (long[] item : sorted) {
      long[] bin = bins.stream().filter(b -> b[0] + item[0] <= cpu && b[1] + item[1] <= memory).findFirst().orElse(null);
      if (bin == null) {
        bin = new long[2];
        bins.add(bin);
      }
      bin[0] += item[0];
      bin[1] += item[1];
    }
    return bins.size();
  }
}
