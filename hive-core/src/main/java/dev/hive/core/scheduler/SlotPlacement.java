package dev.hive.core.scheduler;

import dev.hive.core.state.AppRecord;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Assigns unassigned replica slots to nodes: a pure, deterministic function of the state. Each
 * slot goes to the node, among those that have the app's runtime, holding the fewest slots (ties by
 * node id). The filtering and scoring scheduler of the issue "Scheduling and self-healing" replaces
 * this rule.
 */
public final class SlotPlacement {
  private SlotPlacement() {}

  /** Returns one command per app that has unassigned slots a node can take; empty when none. */
  public static List<Command.AssignSlots> placeUnassigned(ClusterState state) {
    return placeUnassigned(state, id -> true);
  }

  /** As {@link #placeUnassigned(ClusterState)}, among the nodes {@code eligible} accepts (the live ones). */
  public static List<Command.AssignSlots> placeUnassigned(ClusterState state, java.util.function.Predicate<String> eligible) {
    Map<String, Integer> load = new HashMap<>();
    for (AppRecord app : state.apps().values()) {
      app.slots().values().stream().filter(n -> !n.isEmpty()).forEach(n -> load.merge(n, 1, Integer::sum));
    }
    List<Command.AssignSlots> commands = new ArrayList<>();
    for (AppRecord app : state.apps().values()) {
      Map<Integer, String> assignments = new TreeMap<>();
      app.slots().forEach(
          (ordinal, node) -> {
            if (!node.isEmpty()) {
              return;
            }
            NodeRecord best = null;
            for (NodeRecord candidate : state.nodes().values()) {
              if (!candidate.runtimes().contains(app.spec().runtime()) || !eligible.test(candidate.id())) {
                continue;
              }
              if (best == null || load.getOrDefault(candidate.id(), 0) < load.getOrDefault(best.id(), 0)) {
                best = candidate;
              }
            }
            if (best != null) {
              assignments.put(ordinal, best.id());
              load.merge(best.id(), 1, Integer::sum);
            }
          });
      if (!assignments.isEmpty()) {
        commands.add(new Command.AssignSlots(app.name(), assignments));
      }
    }
    return commands;
  }
}
