package dev.hive.core.state;

import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationState;

/**
 * A migration as the cluster state records it: when it started, and how it ended. Its progress
 * lives on the source node, which runs it.
 *
 * @param id its id
 * @param vm the VM's name
 * @param mode how it moves
 * @param source the node it moves from (which runs it)
 * @param target the node it moves to
 * @param state RUNNING until it ends
 * @param startedAtMillis when it started
 * @param finishedAtMillis when it ended, 0 until then
 * @param totalMs wall time
 * @param downtimeMs the time the guest did not run
 * @param bytes bytes moved
 * @param error why it rolled back or failed, or ""
 */
public record MigrationRecord(String id, String vm, MigrationMode mode, String source, String target, MigrationState state,
    long startedAtMillis, long finishedAtMillis, long totalMs, long downtimeMs, long bytes, String error) {
  /** A migration that has just started. */
  public static MigrationRecord started(String id, String vm, MigrationMode mode, String source, String target, long atMillis) {
    return new MigrationRecord(id, vm, mode, source, target, MigrationState.RUNNING, atMillis, 0, 0, 0, 0, "");
  }
}
