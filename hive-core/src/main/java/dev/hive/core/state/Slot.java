package dev.hive.core.state;

import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * One replica slot of an app: an identity (app, ordinal) that at most one node holds, so two
 * instances can never fill it.
 *
 * @param node the id of the node it is assigned to, or "" while it waits for one
 * @param generation the restart generation its instance must have (a rolling restart raises it
 *     slot by slot)
 * @param ready whether its node reported an instance of that generation ready (healthy, or running
 *     when the app has no health check)
 * @param avoid nodes where it failed beyond the app's restart limit: used again only when no other
 *     node fits
 */
public record Slot(String node, int generation, boolean ready, SortedSet<String> avoid) {
  /** Most nodes remembered in {@link #avoid}. */
  static final int MAX_AVOID = 8;

  public Slot {
    // Nearly every slot avoids nothing: share one empty set instead of copying a tree per slot
    // (a scale to hundreds of replicas built hundreds of them per command).
    avoid = avoid.isEmpty() ? Collections.emptySortedSet() : Collections.unmodifiableSortedSet(new TreeSet<>(avoid));
  }

  /** An unassigned slot of the given generation. */
  public static Slot unassigned(int generation) {
    return new Slot("", generation, false, Collections.emptySortedSet());
  }

  /** Returns true when a node holds it. */
  public boolean assigned() {
    return !node.isEmpty();
  }

  Slot withNode(String nodeId) {
    return new Slot(nodeId, generation, false, avoid);
  }

  Slot withGeneration(int g) {
    return new Slot(node, g, false, avoid);
  }

  Slot withReady(boolean r) {
    return new Slot(node, generation, r, r ? Collections.emptySortedSet() : avoid);
  }

  Slot released(boolean avoidNode) {
    TreeSet<String> a = new TreeSet<>(avoid);
    if (avoidNode && a.size() < MAX_AVOID) {
      a.add(node);
    }
    return new Slot("", generation, false, a);
  }
}
