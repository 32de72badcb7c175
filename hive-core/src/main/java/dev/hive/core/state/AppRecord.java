package dev.hive.core.state;

import dev.hive.api.AppSpec;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An app as the cluster state records it: its spec, its restart generation (raised by {@code
 * restart}; its slots follow one at a time), its replica slots, and why slots wait for a node.
 *
 * @param spec the app's spec; {@code spec.replicas()} is the desired count
 * @param generation the restart generation
 * @param createdAtMillis when it was deployed
 * @param slots ordinal to slot
 * @param pendingReason why some slots have no node ("" when none waits or the reason is unknown)
 */
public record AppRecord(AppSpec spec, int generation, long createdAtMillis, SortedMap<Integer, Slot> slots, String pendingReason) {
  public AppRecord {
    slots = Collections.unmodifiableSortedMap(new TreeMap<>(slots));
  }

  /** Returns the app's name. */
  public String name() {
    return spec.name();
  }

  /** Returns how many slots have no node, or a node that has not reported them ready. */
  public int notReady() {
    int n = 0;
    for (Slot s : slots.values()) {
      if (!s.ready()) {
        n++;
      }
    }
    return n;
  }

  AppRecord with(AppSpec newSpec, int newGeneration, SortedMap<Integer, Slot> newSlots, String reason) {
    return new AppRecord(newSpec, newGeneration, createdAtMillis, newSlots, reason);
  }
}
