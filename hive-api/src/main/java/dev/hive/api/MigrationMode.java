package dev.hive.api;

/** How a VM moves to another node. */
public enum MigrationMode {
  /** Shut down, move the definition and disks, start on the target: the guest reboots. */
  COLD,
  /** Suspend and save RAM and device state, move the state file and disks, restore on the target. */
  WARM,
  /** The hypervisors' peer-to-peer pre-copy migration while the guest runs. */
  LIVE
}
