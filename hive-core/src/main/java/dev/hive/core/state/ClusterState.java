package dev.hive.core.state;

import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The cluster's desired state: nodes, apps with their slots, VMs and migrations. Immutable;
 * changed only by {@link StateMachine#apply(ClusterState, Command)}.
 *
 * @param index the index of the last command applied (0 for the empty state)
 * @param nodes nodes by id
 * @param apps apps by name
 * @param vms VMs by name
 * @param migrations migrations by id
 * @param tokens API tokens by name
 * @param bootstrapTokenIssued whether the cluster's first admin token was ever created
 */
public record ClusterState(long index, SortedMap<String, NodeRecord> nodes, SortedMap<String, AppRecord> apps,
    SortedMap<String, VmRecord> vms, SortedMap<String, MigrationRecord> migrations, SortedMap<String, TokenRecord> tokens,
    boolean bootstrapTokenIssued) {
  /** The state before any command. */
  public static final ClusterState EMPTY = new ClusterState(0, new TreeMap<>(), new TreeMap<>());

  public ClusterState {
    nodes = Collections.unmodifiableSortedMap(new TreeMap<>(nodes));
    apps = Collections.unmodifiableSortedMap(new TreeMap<>(apps));
    vms = Collections.unmodifiableSortedMap(new TreeMap<>(vms));
    migrations = Collections.unmodifiableSortedMap(new TreeMap<>(migrations));
    tokens = Collections.unmodifiableSortedMap(new TreeMap<>(tokens));
  }

  /** A state without tokens. */
  public ClusterState(long index, SortedMap<String, NodeRecord> nodes, SortedMap<String, AppRecord> apps,
      SortedMap<String, VmRecord> vms, SortedMap<String, MigrationRecord> migrations) {
    this(index, nodes, apps, vms, migrations, new TreeMap<>(), false);
  }

  /** A state without VMs. */
  public ClusterState(long index, SortedMap<String, NodeRecord> nodes, SortedMap<String, AppRecord> apps) {
    this(index, nodes, apps, new TreeMap<>(), new TreeMap<>());
  }

  /** Returns the slots assigned to {@code nodeId}, as app name to ordinals. */
  public Map<String, java.util.List<Integer>> slotsOf(String nodeId) {
    Map<String, java.util.List<Integer>> result = new TreeMap<>();
    for (AppRecord app : apps.values()) {
      app.slots().forEach(
          (ordinal, slot) -> {
            if (slot.node().equals(nodeId)) {
              result.computeIfAbsent(app.name(), a -> new java.util.ArrayList<>()).add(ordinal);
            }
          });
    }
    return result;
  }
}
