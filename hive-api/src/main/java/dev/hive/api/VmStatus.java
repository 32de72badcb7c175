package dev.hive.api;

import java.util.Objects;

/**
 * A read-only view of one VM, as of the moment it was read.
 *
 * @param name its name
 * @param node the id of the node it is on
 * @param state where it stands ({@link VmState#UNKNOWN} when its node cannot be asked)
 * @param vcpus its virtual CPUs
 * @param memoryBytes its memory
 * @param cpuTimeNanos CPU time its vCPUs used since it started
 * @param blockReadBytes bytes read from its disks
 * @param blockWriteBytes bytes written to its disks
 * @param netRxBytes bytes its network interfaces received
 * @param netTxBytes bytes its network interfaces sent
 * @param migration the id of the migration moving it now, or empty
 */
public record VmStatus(
    String name,
    String node,
    VmState state,
    int vcpus,
    long memoryBytes,
    long cpuTimeNanos,
    long blockReadBytes,
    long blockWriteBytes,
    long netRxBytes,
    long netTxBytes,
    String migration) {
  public VmStatus {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(state, "state");
    migration = migration == null ? "" : migration;
  }
}
