package dev.hive.core.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.PlacementStrategy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The scheduler's scores and its answers when nothing fits. */
class SchedulerTest {
  static NodeCapacity node(String id, long cpuMillis, long usedCpuMillis, Map<String, String> labels) {
    return new NodeCapacity(id, cpuMillis, 8L << 30, usedCpuMillis, 0, Set.of(), labels, Set.of(), Set.of("process"));
  }

  static SlotRequest request(String app, int replicas, long cpu, PlacementStrategy strategy, boolean antiAffinity, Map<String, String> constraints) {
    int[] ordinals = new int[replicas];
    for (int i = 0; i < replicas; i++) {
      ordinals[i] = i;
    }
    return new SlotRequest(app, ordinals, "process", cpu, 64L << 20, List.of(), constraints, Set.of(), antiAffinity, strategy, List.of(), Map.of());
  }

  static Map<String, Integer> countByNode(Schedule s, int request) {
    Map<String, Integer> counts = new HashMap<>();
    s.placements(request).values().forEach(n -> counts.merge(n, 1, Integer::sum));
    return counts;
  }

  @Test
  void spreadPutsSixReplicasTwoOnEachOfThreeNodes() {
    List<NodeCapacity> nodes = List.of(node("a", 4000, 0, Map.of()), node("b", 4000, 1000, Map.of()), node("c", 4000, 0, Map.of()));
    Schedule s = Scheduler.schedule(nodes, List.of(request("web", 6, 10, PlacementStrategy.SPREAD, false, Map.of())));
    assertThat(countByNode(s, 0)).containsOnly(Map.entry("a", 2), Map.entry("b", 2), Map.entry("c", 2));
  }

  @Test
  void binpackFillsTheFullestNodeThatFitsFirst() {
    List<NodeCapacity> nodes = List.of(node("a", 4000, 0, Map.of()), node("b", 4000, 2500, Map.of()), node("c", 4000, 3500, Map.of()));
    Schedule s = Scheduler.schedule(nodes, List.of(request("web", 3, 500, PlacementStrategy.BINPACK, false, Map.of())));
    // c has room for one, b for three: the fullest first, never the empty node.
    assertThat(countByNode(s, 0)).containsOnly(Map.entry("c", 1), Map.entry("b", 2));
  }

  @Test
  void antiAffinityAndConstraintsAreHonouredAndWhatDoesNotFitSaysWhyPerKindOfNode() {
    List<NodeCapacity> nodes = List.of(node("a", 2000, 0, Map.of("zone", "x")), node("b", 2000, 0, Map.of("zone", "x")), node("c", 8000, 0, Map.of("zone", "y")));
    Schedule s = Scheduler.schedule(nodes, List.of(request("web", 3, 100, PlacementStrategy.BINPACK, true, Map.of("zone", "x")),
        request("big", 1, 4000, PlacementStrategy.BINPACK, false, Map.of("zone", "x"))));
    assertThat(s.placements(0)).hasSize(2).containsValues("a", "b");
    assertThat(s.unplacedReason(0)).contains("2 nodes [zone=x]: anti-affinity: 2 already run a replica")
        .contains("1 node [zone=y]: label zone=x wanted, they have zone=y");
    assertThat(s.placements(1)).isEmpty();
    assertThat(s.unplacedReason(1)).contains("2 nodes [zone=x]: needs 4 CPUs, largest free is 2");
  }

  @Test
  void taintsKeepOutAppsThatDoNotTolerateThemAndANodeToAvoidIsUsedOnlyAsALastResort() {
    NodeCapacity tainted = new NodeCapacity("t", 4000, 8L << 30, 0, 0, Set.of(), Map.of(), Set.of("dedicated=db"), Set.of("process"));
    SlotRequest plain = request("web", 1, 100, PlacementStrategy.SPREAD, false, Map.of());
    assertThat(Scheduler.schedule(List.of(tainted), List.of(plain)).unplacedReason(0)).contains("taint dedicated=db not tolerated");
    SlotRequest tolerant = new SlotRequest("db", new int[] {0}, "process", 100, 64L << 20, List.of(), Map.of(), Set.of("dedicated"), false,
        PlacementStrategy.SPREAD, List.of(), Map.of(0, Set.of("t")));
    NodeCapacity other = node("o", 1000, 900, Map.of());
    assertThat(Scheduler.schedule(List.of(tainted, other), List.of(tolerant)).placements(0)).containsEntry(0, "o");
    assertThat(Scheduler.schedule(List.of(tainted), List.of(tolerant)).placements(0)).containsEntry(0, "t");
  }

  @Test
  void withNoNodeAtAllTheReasonSaysSo() {
    assertThat(Scheduler.schedule(List.of(), List.of(request("web", 1, 10, PlacementStrategy.BINPACK, false, Map.of()))).unplacedReason(0))
        .isEqualTo("no live node to place it on");
  }

  @Test
  void theNaiveBaselinePlacesTheSameFeasibleBatchCompletely() {
    List<NodeCapacity> nodes = List.of(node("a", 4000, 0, Map.of()), node("b", 4000, 0, Map.of()));
    List<SlotRequest> requests = List.of(request("web", 8, 900, PlacementStrategy.BINPACK, false, Map.of()));
    assertThat(ScanScheduler.schedule(nodes, requests).placedCount()).isEqualTo(Scheduler.schedule(nodes, requests).placedCount()).isEqualTo(8);
  }
}
