package dev.hive.core.state;

import dev.hive.api.AppSpec;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An app as the cluster state records it: its spec, its restart generation (bumped by {@code
 * restart}, so every instance of an older generation is replaced), and its replica slots. A slot
 * is an identity (app, ordinal) assigned to at most one node, so two instances can never fill
 * one slot.
 *
 * @param spec the app's spec; {@code spec.replicas()} is the desired count
 * @param generation the restart generation
 * @param createdAtMillis when it was deployed
 * @param slots ordinal to the id of the node it is assigned to, or "" while unassigned
 */
public record AppRecord(AppSpec spec, int generation, long createdAtMillis, SortedMap<Integer, String> slots) {
  public AppRecord {
    slots = Collections.unmodifiableSortedMap(new TreeMap<>(slots));
  }

  /** Returns the app's name. */
  public String name() {
    return spec.name();
  }
}
