package dev.hive.core.state;

import dev.hive.api.AppSpec;
import dev.hive.api.MigrationState;
import dev.hive.api.VmSpec;
import java.util.Map;

/**
 * A change to the cluster state. Commands carry every value they need (times included), so that
 * applying one is deterministic and replays give the same state on every node.
 */
public sealed interface Command {
  /** A node joins or re-registers (on every agent start); its drain flag is kept. */
  record RegisterNode(NodeRecord node) implements Command {}

  /** A new app with {@code spec.replicas()} unassigned slots. */
  record DeployApp(AppSpec spec, long atMillis) implements Command {}

  /** The desired replica count changes: slots are added at the end or removed from the end. */
  record ScaleApp(String app, int replicas) implements Command {}

  /** The app's generation rises; its slots are then raised to it one at a time. */
  record RestartApp(String app) implements Command {}

  /** The app and its slots are removed; nodes stop its instances. */
  record DeleteApp(String app) implements Command {}

  /** Unassigned slots are given nodes (ordinal to node id); slots already assigned are left alone. */
  record AssignSlots(String app, Map<Integer, String> assignments) implements Command {
    public AssignSlots {
      assignments = Map.copyOf(assignments);
    }
  }

  /**
   * Slots are taken from their nodes to be placed again (ordinal to the node expected to hold it;
   * a slot that has moved since is left alone). With {@code avoid}, the node is remembered as one
   * to use again only when no other fits.
   */
  record UnassignSlots(String app, Map<Integer, String> from, boolean avoid) implements Command {
    public UnassignSlots {
      from = Map.copyOf(from);
    }
  }

  /** One slot is raised to a generation (a step of a rolling restart). */
  record RestartSlot(String app, int ordinal, int generation) implements Command {}

  /**
   * A node reports, per slot key ({@code app/ordinal}), the generation of its ready instance, or
   * -1 when it has none ready. Only slots still assigned to that node change.
   */
  record ReportReady(String node, Map<String, Integer> readyGenerations) implements Command {
    public ReportReady {
      readyGenerations = Map.copyOf(readyGenerations);
    }
  }

  /** A node is drained or no longer drained. */
  record SetDraining(String node, boolean draining) implements Command {}

  /** Why an app's slots wait for a node ("" when none waits). */
  record SetPendingReason(String app, String reason) implements Command {}

  /** A VM defined on {@code node}'s hypervisor is recorded. */
  record CreateVm(VmSpec spec, String node, long atMillis) implements Command {}

  /** A VM is removed from the record (its node has removed it from its hypervisor). */
  record DeleteVm(String vm) implements Command {}

  /** A migration starts: refused while the VM is being migrated; applying the same id twice changes nothing. */
  record StartMigration(MigrationRecord migration) implements Command {}

  /**
   * A migration ends; when it succeeded the VM is recorded on its target. Finishing one that has
   * already ended changes nothing.
   */
  record FinishMigration(String id, MigrationState state, long atMillis, long totalMs, long downtimeMs, long bytes, String error)
      implements Command {}

  /**
   * Settles the outcome of the request with the same id once its deadline has passed: when that
   * request has not reached the log by then, it is recorded as refused, so it never applies.
   * Only the {@link RequestLedger} applies it; it does not change the state.
   */
  record SettleRequest() implements Command {}

  /**
   * An API token is created. The bootstrap token (the cluster's first admin token) is created once:
   * a second one is refused even after the first was revoked, so a restarted founder never brings
   * it back.
   */
  record CreateToken(TokenRecord token, boolean bootstrap) implements Command {}

  /** An API token stops working. */
  record RevokeToken(String name) implements Command {}
}
