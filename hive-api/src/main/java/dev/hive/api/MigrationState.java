package dev.hive.api;

/** Where a migration stands. */
public enum MigrationState {
  /** It is moving the VM. */
  RUNNING,
  /** The VM runs on the target and is gone from the source. */
  SUCCEEDED,
  /** A step failed or it was cancelled; the VM runs on the source again and nothing is left on the target. */
  ROLLED_BACK,
  /** A step failed and rolling back failed too; {@link MigrationStatus#error()} says what is where. */
  FAILED
}
