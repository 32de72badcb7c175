package dev.hive.api;

/** Where a {@link Transfer} stands. */
public enum TransferState {
  /** Chunks are moving. */
  RUNNING,
  /** Every chunk arrived verified and the file (or directory) was renamed into place. */
  SUCCEEDED,
  /**
   * Stopped before the end -- cancelled, or the link or a node went away -- with the verified
   * chunks kept by the receiver; {@link Transfer#resume()} sends only the rest.
   */
  PAUSED,
  /** Refused or failed in a way that resuming cannot fix; {@link TransferStatus#error()} says why. */
  FAILED
}
