package dev.hive.api;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** A handle on one VM migration, started by {@link Vm#migrate}. */
public interface Migration {
  /** Returns its id. */
  String id();

  /** Returns where it stands now. */
  MigrationStatus status();

  /**
   * Calls {@code listener} with its status at least every second while it runs, on every phase
   * change, and once when it ends.
   *
   * @return the subscription; close it to stop
   */
  Subscription onProgress(Consumer<MigrationStatus> listener);

  /**
   * Stops it; it then rolls back, so the VM runs on the source. Does nothing once it has ended.
   *
   * @throws UnavailableException if the node running it cannot be reached
   */
  void cancel();

  /**
   * Returns a future completed with the final status, whether SUCCEEDED, ROLLED_BACK or FAILED
   * (a rollback is an outcome, not an exception).
   */
  CompletableFuture<MigrationStatus> result();
}
