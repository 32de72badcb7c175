package dev.hive.api;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A file or directory moving from this node to another: chunks of a manifest over several
 * streams, each verified by SHA-256 on arrival, renamed into place only when all are.
 */
public interface Transfer {
  /** Returns the transfer's id. */
  String id();

  /** Returns its state now. */
  TransferStatus status();

  /**
   * Calls {@code listener} with a status at least every progress interval while it runs and once
   * when it ends, on a thread of the transfer's; the listener must not block.
   */
  Subscription onProgress(Consumer<TransferStatus> listener);

  /**
   * Stops sending; the receiver keeps the verified chunks, and the transfer becomes PAUSED. Does
   * nothing to a transfer that ended.
   */
  void cancel();

  /**
   * Sends what the receiver does not have yet, after a pause.
   *
   * @return this transfer
   * @throws InvalidSpecException if it SUCCEEDED or FAILED, or the file changed since it started
   */
  Transfer resume();

  /**
   * Returns a future completed with the final status when the transfer SUCCEEDED, or failed with
   * a {@link HiveException} saying why when it ended PAUSED or FAILED. A resume replaces it.
   */
  CompletableFuture<TransferStatus> result();
}
