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
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** Properties of the scheduler over random clusters and batches (jqwik). */
class SchedulerPropertiesTest {
  private static final String[] ZONES = {"a", "b", "c"};

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

  @Property(tries = 300)
  void noPlacementOvercommitsANodeReusesAHostPortOrBreaksAFilter(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int nodeCount,
      @ForAll @IntRange(min = 1, max = 25) int appCount) {
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
        assertThat(u[0]).as("CPU on %s", node.id()).isLessThanOrEqualTo(node.cpuMillis());
        assertThat(u[1]).as("memory on %s", node.id()).isLessThanOrEqualTo(node.memoryBytes());
        for (int port : q.hostPorts()) {
          assertThat(ports.get(node.id()).add(port)).as("host port %d on %s", port, node.id()).isTrue();
        }
        assertThat(node.runtimes()).contains(q.runtime());
        q.constraints().forEach((k, v) -> assertThat(node.labels()).containsEntry(k, v));
        for (String taint : node.taints()) {
          assertThat(q.tolerations().contains(taint) || q.tolerations().contains(taint.substring(0, taint.indexOf('=')))).as("tolerates " + taint).isTrue();
        }
        if (q.antiAffinity()) {
          assertThat(nodesOfApp.add(node.id())).as("anti-affinity of %s on %s", q.app(), node.id()).isTrue();
        }
      }
      boolean allPlaced = schedule.placements(r).size() == q.ordinals().length;
      assertThat(schedule.unplacedReason(r) == null).isEqualTo(allPlaced);
    }
  }

  @Property(tries = 100)
  void theScheduleDoesNotDependOnTheOrderNodesAreListedIn(@ForAll long seed, @ForAll @IntRange(min = 1, max = 30) int nodeCount) {
    Case c = new Case(seed, nodeCount, 10);
    List<NodeCapacity> shuffled = new ArrayList<>(c.nodes);
    Collections.shuffle(shuffled, new Random(seed ^ 1));
    Schedule a = Scheduler.schedule(c.nodes, c.requests);
    Schedule b = Scheduler.schedule(shuffled, c.requests);
    for (int r = 0; r < c.requests.size(); r++) {
      assertThat(b.placements(r)).isEqualTo(a.placements(r));
      assertThat(b.unplacedReason(r)).isEqualTo(a.unplacedReason(r));
    }
  }

  @Property(tries = 60)
  void binpackUsesAtMostFivePercentMoreNodesThanFirstFitDecreasing(@ForAll long seed, @ForAll @IntRange(min = 50, max = 400) int slots,
      @ForAll @LongRange(min = 4, max = 64) long nodeCores) {
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
    assertThat(schedule.placedCount()).isEqualTo(slots);
    int ffd = firstFitDecreasing(items, nodeCores * 1000, nodeCores << 32);
    assertThat(used.size()).as("binpack nodes vs first-fit-decreasing %d", ffd).isLessThanOrEqualTo(Math.max(ffd + 1, (int) Math.floor(ffd * 1.05)));
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
