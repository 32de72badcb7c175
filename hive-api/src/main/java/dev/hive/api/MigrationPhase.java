package dev.hive.api;

/** The step a migration is at. */
public enum MigrationPhase {
  /** Checking the target and reserving room there. */
  PREPARING,
  /** Moving state files, disks, or the first pass of memory. */
  TRANSFERRING,
  /** Copying pages dirtied since the previous round ({@link MigrationStatus#round()}). */
  ITERATING,
  /** The guest is paused for the last pages and resumes on the target. */
  SWITCHING_OVER,
  /** Checking that the VM runs on the target. */
  VERIFYING,
  /** Finished. */
  DONE,
  /** Undoing: bringing the VM back on the source and removing it from the target. */
  ROLLING_BACK,
  /** Undone: the VM runs on the source. */
  ROLLED_BACK
}
