package dev.hive.api;

/** Where a VM stands, as its node's hypervisor reports it. */
public enum VmState {
  /** Its vCPUs run. */
  RUNNING,
  /** Suspended: in memory, vCPUs stopped. */
  PAUSED,
  /** Defined, not running. */
  SHUT_OFF,
  /** The guest crashed. */
  CRASHED,
  /** Its node could not be asked (down, or the hypervisor does not answer). */
  UNKNOWN
}
