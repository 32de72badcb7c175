package dev.hive.core.scheduler;

import dev.hive.api.PlacementStrategy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The baseline {@link Scheduler} is measured against: the same filters and scores, evaluated on
 * every node for every slot, as a scheduler without an index does. Kept for the benchmarks and as
 * an oracle in tests, not used by the cluster.
 */
public final class ScanScheduler {
  private ScanScheduler() {}

  /** Places every slot it can, scanning all nodes per slot; placements only, no reasons. */
  public static Schedule schedule(List<NodeCapacity> input, List<SlotRequest> requests) {
    List<NodeCapacity> nodes = new ArrayList<>(input);
    nodes.sort(Comparator.comparing(NodeCapacity::id));
    int n = nodes.size();
    long[] freeCpu = new long[n];
    long[] freeMemory = new long[n];
    List<Set<Integer>> ports = new ArrayList<>();
    Map<String, Integer> indexOf = new HashMap<>();
    long maxCpu = 1;
    long maxMemory = 1;
    for (int i = 0; i < n; i++) {
      NodeCapacity node = nodes.get(i);
      freeCpu[i] = node.cpuMillis() - node.usedCpuMillis();
      freeMemory[i] = node.memoryBytes() - node.usedMemoryBytes();
      ports.add(new java.util.HashSet<>(node.usedHostPorts()));
      indexOf.put(node.id(), i);
      maxCpu = Math.max(maxCpu, node.cpuMillis());
      maxMemory = Math.max(maxMemory, node.memoryBytes());
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      order.add(i);
    }
    long mc = maxCpu;
    long mm = maxMemory;
    Comparator<Integer> bySize = Comparator.comparingDouble(i -> -Math.max((double) requests.get(i).cpuMillis() / mc, (double) requests.get(i).memoryBytes() / mm));
    order.sort(bySize.thenComparing(i -> requests.get(i).app()));
    String[][] placed = new String[requests.size()][];
    String[] reasons = new String[requests.size()];
    for (int r : order) {
      SlotRequest q = requests.get(r);
      placed[r] = new String[q.ordinalCount()];
      int[] count = new int[n];
      q.placedOn().forEach(id -> {
        Integer i = indexOf.get(id);
        if (i != null) {
          count[i]++;
        }
      });
      for (int k = 0; k < q.ordinalCount(); k++) {
        int best = -1;
        double bestScore = 0;
        for (int i = 0; i < n; i++) {
          NodeCapacity node = nodes.get(i);
          if (!node.runtimes().contains(q.runtime()) || freeCpu[i] < q.cpuMillis() || freeMemory[i] < q.memoryBytes()) {
            continue;
          }
          if (q.antiAffinity() && count[i] > 0) {
            continue;
          }
          if (!constraintsHold(node, q) || !ports.get(i).stream().noneMatch(q.hostPorts()::contains)) {
            continue;
          }
          double free = Math.min(node.cpuMillis() == 0 ? 0 : (double) freeCpu[i] / node.cpuMillis(),
              node.memoryBytes() == 0 ? 0 : (double) freeMemory[i] / node.memoryBytes());
          double score = q.strategy() == PlacementStrategy.BINPACK ? free : count[i] * 2.0 - free;
          if (best < 0 || score < bestScore) {
            best = i;
            bestScore = score;
          }
        }
        if (best < 0) {
          reasons[r] = "no node fits";
          break;
        }
        freeCpu[best] -= q.cpuMillis();
        freeMemory[best] -= q.memoryBytes();
        ports.get(best).addAll(q.hostPorts());
        count[best]++;
        placed[r][k] = nodes.get(best).id();
      }
    }
    return new Schedule(requests, placed, reasons);
  }

  private static boolean constraintsHold(NodeCapacity node, SlotRequest q) {
    for (Map.Entry<String, String> c : q.constraints().entrySet()) {
      if (!c.getValue().equals(node.labels().get(c.getKey()))) {
        return false;
      }
    }
    for (String taint : node.taints()) {
      if (!q.tolerations().contains(taint) && !q.tolerations().contains(taint.substring(0, taint.indexOf('=')))) {
        return false;
      }
    }
    return true;
  }
}
