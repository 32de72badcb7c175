package dev.hive.core.scheduler;

import dev.hive.api.PlacementStrategy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Places pending replica slots on nodes: a pure, deterministic function of its input.
 *
 * <p>Filters: the node has the app's runtime, carries every constrained label, has only taints
 * the app tolerates, has the CPU and memory free, has the fixed host ports free, and (with
 * anti-affinity) runs no other replica of the app. Scores: {@code binpack} takes the fitting node
 * with the least room left (best fit), {@code spread} the one with the fewest replicas of the app,
 * then the most room left. Requests are taken largest first, so binpack is best-fit-decreasing.
 *
 * <p>Why it does not scan every node per slot: nodes with identical labels, taints and runtimes
 * form a class, and filters on those are decided once per class. Within a class, nodes sit in
 * buckets by their free fraction of their tightest resource (1024 buckets, plus one for unused
 * nodes), each bucket an intrusive list, with a bitmap of non-empty buckets. Binpack starts at
 * the first bucket that could fit the request and walks up; spread walks down from the top. A
 * placement moves one node between buckets in O(1). So the cost of a placement depends on the
 * number of classes and on how many nodes must be skipped (anti-affinity, ports), not on the
 * number of nodes. Placement within a bucket is best fit to 1/1024 of the node's capacity.
 */
public final class Scheduler {
  static final int BUCKETS = 1024;
  /** Where nodes with nothing allocated sit, above every partly used one. */
  static final int UNUSED = BUCKETS;
  private static final int WORDS = (BUCKETS + 1 + 63) / 64;

  private Scheduler() {}

  /**
   * Places every slot it can.
   *
   * @param nodes the nodes that may take slots (live, not drained)
   * @param requests the pending slots, per app
   * @return the placements and, per request, why any slot stayed unplaced
   */
  public static Schedule schedule(List<NodeCapacity> nodes, List<SlotRequest> requests) {
    return new Run(nodes, requests).run();
  }

  private record ClassKey(Map<String, String> labels, Set<String> taints, Set<String> runtimes) {}

  private record FilterKey(String runtime, Map<String, String> constraints, Set<String> tolerations) {}

  private static final class NodeClass {
    final ClassKey key;
    final long[] nonEmpty = new long[WORDS];
    final int[] head = new int[BUCKETS + 1];
    final int[] tail = new int[BUCKETS + 1];
    long maxCpu;
    long maxMemory;
    int size;

    NodeClass(ClassKey key) {
      this.key = key;
      Arrays.fill(head, -1);
      Arrays.fill(tail, -1);
    }

    /** Returns the first non-empty bucket at or above {@code from}, or -1. */
    int nextBucket(int from) {
      if (from > UNUSED) {
        return -1;
      }
      int w = from >>> 6;
      long word = nonEmpty[w] & (-1L << (from & 63));
      while (true) {
        if (word != 0) {
          return (w << 6) + Long.numberOfTrailingZeros(word);
        }
        if (++w == WORDS) {
          return -1;
        }
        word = nonEmpty[w];
      }
    }

    /** Returns the last non-empty bucket at or below {@code from}, or -1. */
    int previousBucket(int from) {
      if (from < 0) {
        return -1;
      }
      int w = from >>> 6;
      long word = nonEmpty[w] & (-1L >>> (63 - (from & 63)));
      while (true) {
        if (word != 0) {
          return (w << 6) + 63 - Long.numberOfLeadingZeros(word);
        }
        if (--w < 0) {
          return -1;
        }
        word = nonEmpty[w];
      }
    }
  }

  private static final class Run {
    final List<SlotRequest> requests;
    final int n;
    final String[] ids;
    final Map<String, Integer> indexOf;
    final long[] capCpu;
    final long[] capMemory;
    final long[] freeCpu;
    final long[] freeMemory;
    final int[] classOf;
    final int[] bucket;
    final int[] next;
    final int[] prev;
    final List<NodeClass> classes = new ArrayList<>();
    final Set<Long> takenPorts = new HashSet<>();
    final Map<FilterKey, int[]> eligibleCache = new HashMap<>();
    final int[] appCount;
    final long maxCpu;
    final long maxMemory;

    Run(List<NodeCapacity> input, List<SlotRequest> requests) {
      this.requests = requests;
      List<NodeCapacity> nodes = new ArrayList<>(input);
      nodes.sort(Comparator.comparing(NodeCapacity::id));
      n = nodes.size();
      ids = new String[n];
      indexOf = new HashMap<>(n * 2);
      capCpu = new long[n];
      capMemory = new long[n];
      freeCpu = new long[n];
      freeMemory = new long[n];
      classOf = new int[n];
      bucket = new int[n];
      next = new int[n];
      prev = new int[n];
      appCount = new int[n];
      Map<ClassKey, Integer> classIds = new HashMap<>();
      long mc = 1;
      long mm = 1;
      for (int i = 0; i < n; i++) {
        NodeCapacity node = nodes.get(i);
        ids[i] = node.id();
        if (indexOf.put(node.id(), i) != null) {
          throw new IllegalArgumentException("node " + node.id() + " is listed twice");
        }
        capCpu[i] = node.cpuMillis();
        capMemory[i] = node.memoryBytes();
        freeCpu[i] = node.cpuMillis() - node.usedCpuMillis();
        freeMemory[i] = node.memoryBytes() - node.usedMemoryBytes();
        ClassKey key = new ClassKey(node.labels(), node.taints(), node.runtimes());
        Integer c = classIds.get(key);
        if (c == null) {
          c = classes.size();
          classIds.put(key, c);
          classes.add(new NodeClass(key));
        }
        classOf[i] = c;
        NodeClass nc = classes.get(c);
        nc.maxCpu = Math.max(nc.maxCpu, capCpu[i]);
        nc.maxMemory = Math.max(nc.maxMemory, capMemory[i]);
        nc.size++;
        mc = Math.max(mc, capCpu[i]);
        mm = Math.max(mm, capMemory[i]);
        for (int port : node.usedHostPorts()) {
          takenPorts.add(portKey(i, port));
        }
        bucket[i] = bucketOf(i, node.usedCpuMillis() == 0 && node.usedMemoryBytes() == 0);
        link(i);
      }
      maxCpu = mc;
      maxMemory = mm;
    }

    Schedule run() {
      int r = requests.size();
      String[][] placed = new String[r][];
      String[] reasons = new String[r];
      Integer[] order = new Integer[r];
      double[] size = new double[r];
      for (int i = 0; i < r; i++) {
        order[i] = i;
        SlotRequest q = requests.get(i);
        size[i] = Math.max((double) q.cpuMillis() / maxCpu, (double) q.memoryBytes() / maxMemory);
        placed[i] = new String[q.ordinalCount()];
      }
      // Largest first (best-fit-decreasing), ties by app name: deterministic.
      Arrays.sort(order, (a, b) -> {
        int c = Double.compare(size[b], size[a]);
        return c != 0 ? c : requests.get(a).app().compareTo(requests.get(b).app());
      });
      for (int i : order) {
        reasons[i] = place(requests.get(i), placed[i]);
      }
      return new Schedule(requests, placed, reasons);
    }

    private String place(SlotRequest q, String[] out) {
      int[] eligible = eligibleClasses(q);
      int[] touched = new int[q.placedOn().size() + q.ordinalCount()];
      int touchedCount = 0;
      for (String id : q.placedOn()) {
        Integer i = indexOf.get(id);
        if (i != null) {
          if (appCount[i]++ == 0) {
            touched[touchedCount++] = i;
          }
        }
      }
      int placedCount = q.placedOn().size();
      int level = 0;
      String reason = null;
      try {
        for (int k = 0; k < q.ordinalCount(); k++) {
          Set<String> avoidIds = q.avoid().isEmpty() ? null : q.avoid().get(q.ordinalAt(k));
          int[] avoid = avoidIds == null ? null : toIndices(avoidIds);
          int node = -1;
          if (eligible.length > 0) {
            if (q.strategy() == PlacementStrategy.SPREAD) {
              int maxLevel = q.antiAffinity() ? 0 : placedCount;
              for (; node < 0 && level <= maxLevel; ) {
                node = spread(q, eligible, level, avoid);
                if (node < 0 && avoid != null) {
                  node = spread(q, eligible, level, null);
                }
                if (node < 0) {
                  level++;
                }
              }
            } else {
              node = binpack(q, eligible, avoid);
              if (node < 0 && avoid != null) {
                node = binpack(q, eligible, null);
              }
            }
          }
          if (node < 0) {
            reason = explain(q);
            return reason;
          }
          take(q, node);
          if (appCount[node]++ == 0) {
            touched[touchedCount++] = node;
          }
          placedCount++;
          out[k] = ids[node];
        }
        return null;
      } finally {
        for (int t = 0; t < touchedCount; t++) {
          appCount[touched[t]] = 0;
        }
      }
    }

    private int[] toIndices(Set<String> nodeIds) {
      int[] result = new int[nodeIds.size()];
      int k = 0;
      for (String id : nodeIds) {
        Integer i = indexOf.get(id);
        result[k++] = i == null ? -1 : i;
      }
      return result;
    }

    private int binpack(SlotRequest q, int[] eligible, int[] avoid) {
      int best = -1;
      int bestBucket = Integer.MAX_VALUE;
      for (int c : eligible) {
        NodeClass nc = classes.get(c);
        int from = startBucket(nc, q);
        for (int b = nc.nextBucket(from); b >= 0 && b <= bestBucket; b = nc.nextBucket(b + 1)) {
          int found = firstFitting(nc.head[b], q, avoid, Integer.MAX_VALUE);
          if (found >= 0) {
            if (b < bestBucket || found < best) {
              best = found;
              bestBucket = b;
            }
            break;
          }
        }
      }
      return best;
    }

    private int spread(SlotRequest q, int[] eligible, int level, int[] avoid) {
      int best = -1;
      int bestBucket = -1;
      for (int c : eligible) {
        NodeClass nc = classes.get(c);
        for (int b = nc.previousBucket(UNUSED); b >= 0 && b >= bestBucket; b = nc.previousBucket(b - 1)) {
          int found = firstFitting(nc.head[b], q, avoid, level);
          if (found >= 0) {
            if (b > bestBucket || found < best) {
              best = found;
              bestBucket = b;
            }
            break;
          }
        }
      }
      return best;
    }

    /** Returns the first node of a bucket's list that fits and holds at most {@code level} replicas of the app. */
    private int firstFitting(int head, SlotRequest q, int[] avoid, int level) {
      for (int i = head; i >= 0; i = next[i]) {
        if (freeCpu[i] < q.cpuMillis() || freeMemory[i] < q.memoryBytes() || appCount[i] > level) {
          continue;
        }
        if (q.antiAffinity() && appCount[i] > 0) {
          continue;
        }
        if (!q.hostPorts().isEmpty() && !portsFree(i, q.hostPorts())) {
          continue;
        }
        if (avoid != null && contains(avoid, i)) {
          continue;
        }
        return i;
      }
      return -1;
    }

    private static boolean contains(int[] values, int v) {
      for (int x : values) {
        if (x == v) {
          return true;
        }
      }
      return false;
    }

    private boolean portsFree(int node, List<Integer> ports) {
      for (int p : ports) {
        if (takenPorts.contains(portKey(node, p))) {
          return false;
        }
      }
      return true;
    }

    private static long portKey(int node, int port) {
      return ((long) node << 16) | port;
    }

    private void take(SlotRequest q, int node) {
      freeCpu[node] -= q.cpuMillis();
      freeMemory[node] -= q.memoryBytes();
      for (int p : q.hostPorts()) {
        takenPorts.add(portKey(node, p));
      }
      int b = bucketOf(node, false);
      if (b != bucket[node]) {
        unlink(node);
        bucket[node] = b;
        link(node);
      }
    }

    /** The lowest bucket where a node of the class could fit the request. */
    private static int startBucket(NodeClass nc, SlotRequest q) {
      long c = nc.maxCpu == 0 ? 0 : q.cpuMillis() * BUCKETS / nc.maxCpu;
      long m = nc.maxMemory == 0 ? 0 : (long) ((double) q.memoryBytes() * BUCKETS / nc.maxMemory);
      return (int) Math.min(Math.min(c, m), BUCKETS - 1);
    }

    private int bucketOf(int i, boolean unused) {
      if (unused) {
        return UNUSED;
      }
      long c = capCpu[i] <= 0 ? 0 : Math.max(0, freeCpu[i]) * BUCKETS / capCpu[i];
      long m = capMemory[i] <= 0 ? 0 : (long) ((double) Math.max(0, freeMemory[i]) * BUCKETS / capMemory[i]);
      return (int) Math.min(Math.min(c, m), BUCKETS - 1);
    }

    private void link(int i) {
      NodeClass nc = classes.get(classOf[i]);
      int b = bucket[i];
      next[i] = -1;
      prev[i] = nc.tail[b];
      if (nc.tail[b] >= 0) {
        next[nc.tail[b]] = i;
      } else {
        nc.head[b] = i;
        nc.nonEmpty[b >>> 6] |= 1L << (b & 63);
      }
      nc.tail[b] = i;
    }

    private void unlink(int i) {
      NodeClass nc = classes.get(classOf[i]);
      int b = bucket[i];
      if (prev[i] >= 0) {
        next[prev[i]] = next[i];
      } else {
        nc.head[b] = next[i];
      }
      if (next[i] >= 0) {
        prev[next[i]] = prev[i];
      } else {
        nc.tail[b] = prev[i];
      }
      if (nc.head[b] < 0) {
        nc.nonEmpty[b >>> 6] &= ~(1L << (b & 63));
      }
    }

    private int[] eligibleClasses(SlotRequest q) {
      return eligibleCache.computeIfAbsent(new FilterKey(q.runtime(), q.constraints(), q.tolerations()), k -> {
        List<Integer> result = new ArrayList<>();
        for (int c = 0; c < classes.size(); c++) {
          if (mismatch(classes.get(c).key, q) == null) {
            result.add(c);
          }
        }
        return result.stream().mapToInt(Integer::intValue).toArray();
      });
    }

    /** Why a class of nodes cannot take the app whatever its load, or null when it can. */
    private static String mismatch(ClassKey key, SlotRequest q) {
      if (!key.runtimes().contains(q.runtime())) {
        return "no runtime '" + q.runtime() + "' (they have " + new java.util.TreeSet<>(key.runtimes()) + ")";
      }
      for (Map.Entry<String, String> c : q.constraints().entrySet()) {
        String have = key.labels().get(c.getKey());
        if (!c.getValue().equals(have)) {
          return "label " + c.getKey() + "=" + c.getValue() + " wanted, they have " + (have == null ? "no " + c.getKey() : c.getKey() + "=" + have);
        }
      }
      for (String taint : key.taints()) {
        String taintKey = taint.substring(0, taint.indexOf('='));
        if (!q.tolerations().contains(taint) && !q.tolerations().contains(taintKey)) {
          return "taint " + taint + " not tolerated";
        }
      }
      return null;
    }

    /** Per kind of node, why none of them takes the next slot of the request. */
    private String explain(SlotRequest q) {
      if (n == 0) {
        return "no live node to place it on";
      }
      Map<String, List<String>> whyByKind = new TreeMap<>();
      for (int c = 0; c < classes.size(); c++) {
        NodeClass nc = classes.get(c);
        String why = mismatch(nc.key, q);
        if (why == null) {
          why = capacityShortfall(c, q);
        }
        whyByKind.computeIfAbsent(why, w -> new ArrayList<>()).add(nc.size + " node" + (nc.size == 1 ? "" : "s") + describe(nc.key));
      }
      StringBuilder sb = new StringBuilder("no node can take it: ");
      String sep = "";
      for (Map.Entry<String, List<String>> e : whyByKind.entrySet()) {
        sb.append(sep).append(String.join(", ", e.getValue())).append(": ").append(e.getKey());
        sep = "; ";
      }
      return sb.toString();
    }

    private String capacityShortfall(int c, SlotRequest q) {
      long maxFreeCpu = Long.MIN_VALUE;
      long maxFreeMemory = Long.MIN_VALUE;
      int resourcesFit = 0;
      int members = 0;
      int portsBlocked = 0;
      int holding = 0;
      for (int i = 0; i < n; i++) {
        if (classOf[i] != c) {
          continue;
        }
        members++;
        maxFreeCpu = Math.max(maxFreeCpu, freeCpu[i]);
        maxFreeMemory = Math.max(maxFreeMemory, freeMemory[i]);
        if (freeCpu[i] >= q.cpuMillis() && freeMemory[i] >= q.memoryBytes()) {
          resourcesFit++;
          if (!q.hostPorts().isEmpty() && !portsFree(i, q.hostPorts())) {
            portsBlocked++;
          } else if (appCount[i] > 0) {
            holding++;
          }
        }
      }
      if (maxFreeCpu < q.cpuMillis()) {
        return "needs " + cpus(q.cpuMillis()) + " CPUs, largest free is " + cpus(Math.max(0, maxFreeCpu));
      }
      if (maxFreeMemory < q.memoryBytes()) {
        return "needs " + bytes(q.memoryBytes()) + " memory, largest free is " + bytes(Math.max(0, maxFreeMemory));
      }
      if (resourcesFit == 0) {
        return "none has both " + cpus(q.cpuMillis()) + " CPUs and " + bytes(q.memoryBytes()) + " free";
      }
      List<String> parts = new ArrayList<>();
      if (members > resourcesFit) {
        parts.add((members - resourcesFit) + " without room for " + cpus(q.cpuMillis()) + " CPUs and " + bytes(q.memoryBytes()));
      }
      if (portsBlocked > 0) {
        parts.add("host port " + q.hostPorts() + " taken on " + portsBlocked);
      }
      if (holding > 0) {
        parts.add("anti-affinity: " + holding + " already run a replica");
      }
      return parts.isEmpty() ? "no room" : String.join(", ", parts);
    }

    private static String describe(ClassKey key) {
      List<String> parts = new ArrayList<>();
      new TreeMap<>(key.labels()).forEach((k, v) -> parts.add(k + "=" + v));
      new java.util.TreeSet<>(key.taints()).forEach(t -> parts.add("taint " + t));
      return parts.isEmpty() ? "" : " [" + String.join(", ", parts) + "]";
    }
  }

  /** Formats thousandths of a core as cores: 4000 as 4, 1500 as 1.5. */
  static String cpus(long millis) {
    return java.math.BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString();
  }

  /** Formats bytes in the largest binary unit that keeps one decimal. */
  static String bytes(long b) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = b;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return (v == Math.rint(v) ? Long.toString((long) v) : String.format(java.util.Locale.ROOT, "%.1f", v)) + " " + units[u];
  }
}
