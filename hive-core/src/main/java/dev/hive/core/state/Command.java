package dev.hive.core.state;

import dev.hive.api.AppSpec;
import java.util.Map;

/**
 * A change to the cluster state. Commands carry every value they need (times included), so that
 * applying one is deterministic and replays give the same state on every node.
 */
public sealed interface Command {
  /** A node joins or re-registers (on every agent start). */
  record RegisterNode(NodeRecord node) implements Command {}

  /** A new app with {@code spec.replicas()} unassigned slots. */
  record DeployApp(AppSpec spec, long atMillis) implements Command {}

  /** The desired replica count changes: slots are added at the end or removed from the end. */
  record ScaleApp(String app, int replicas) implements Command {}

  /** Every instance of the app is to be replaced, one at a time. */
  record RestartApp(String app) implements Command {}

  /** The app and its slots are removed; nodes stop its instances. */
  record DeleteApp(String app) implements Command {}

  /** Slots are assigned to nodes (ordinal to node id). */
  record AssignSlots(String app, Map<Integer, String> assignments) implements Command {
    public AssignSlots {
      assignments = Map.copyOf(assignments);
    }
  }
}
