package dev.hive.api;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A read-only view of one migration, as of the moment it was read; also the progress event.
 *
 * @param id the migration's id, e.g. {@code mig-3f9a1c02}
 * @param vm the VM's name
 * @param mode how it moves
 * @param source the id of the node it moves from
 * @param target the id of the node it moves to
 * @param state where it stands
 * @param phase the step it is at
 * @param round the pre-copy round (LIVE; 0 before the first)
 * @param percent how much of the work is done, 0-100
 * @param bytesTotal the bytes it expects to move (memory, or state file and disks), 0 if unknown
 * @param bytesProcessed the bytes moved so far, repeated pages included
 * @param dirtyPagesPerSecond the guest's page dirtying rate (LIVE), 0 if unknown
 * @param expectedDowntimeMs the pause the hypervisor expects at switch-over (LIVE), 0 if unknown
 * @param downtimeMs the time the guest did not run: measured at the end (LIVE: as QEMU reports it)
 * @param totalMs the wall time from start to end, or so far
 * @param startedAt when it started
 * @param finishedAt when it ended, if it did
 * @param error why it rolled back or failed; empty otherwise
 */
public record MigrationStatus(
    String id,
    String vm,
    MigrationMode mode,
    String source,
    String target,
    MigrationState state,
    MigrationPhase phase,
    int round,
    int percent,
    long bytesTotal,
    long bytesProcessed,
    long dirtyPagesPerSecond,
    long expectedDowntimeMs,
    long downtimeMs,
    long totalMs,
    Instant startedAt,
    Optional<Instant> finishedAt,
    String error) {
  public MigrationStatus {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(phase, "phase");
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(finishedAt, "finishedAt");
    error = error == null ? "" : error;
  }

  /** Returns true once it has ended, however it ended. */
  public boolean finished() {
    return state != MigrationState.RUNNING;
  }
}
