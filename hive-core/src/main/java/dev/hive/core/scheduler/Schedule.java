package dev.hive.core.scheduler;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the scheduler decided for a list of {@link SlotRequest}s: for request {@code i}, the node
 * of each of its ordinals (null where none fits) and, when any stayed unplaced, why.
 */
public final class Schedule {
  private final List<SlotRequest> requests;
  private final String[][] nodes;
  private final String[] reasons;

  Schedule(List<SlotRequest> requests, String[][] nodes, String[] reasons) {
    this.requests = requests;
    this.nodes = nodes;
    this.reasons = reasons;
  }

  /** Returns the node chosen for ordinal index {@code i} of request {@code request}, or null. */
  public String nodeOf(int request, int i) {
    return nodes[request][i];
  }

  /** Returns why some slots of request {@code request} have no node, or null when all were placed. */
  public String unplacedReason(int request) {
    return reasons[request];
  }

  /** Returns the placements of request {@code request}, ordinal to node id, unplaced ones left out. */
  public Map<Integer, String> placements(int request) {
    Map<Integer, String> result = new TreeMap<>();
    SlotRequest r = requests.get(request);
    for (int i = 0; i < r.ordinalCount(); i++) {
      if (nodes[request][i] != null) {
        result.put(r.ordinalAt(i), nodes[request][i]);
      }
    }
    return Collections.unmodifiableMap(result);
  }

  /** Returns how many slots were placed in all. */
  public long placedCount() {
    long n = 0;
    for (String[] row : nodes) {
      for (String node : row) {
        if (node != null) {
          n++;
        }
      }
    }
    return n;
  }
}
