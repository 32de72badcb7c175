package dev.hive.spi;

import dev.hive.api.VmState;

/**
 * A VM's state and counters as its hypervisor reports them.
 *
 * @param state where it stands
 * @param vcpus its virtual CPUs
 * @param memoryBytes its memory
 * @param cpuTimeNanos CPU time used since it started
 * @param blockReadBytes bytes read from its disks
 * @param blockWriteBytes bytes written to its disks
 * @param netRxBytes bytes received by its interfaces
 * @param netTxBytes bytes sent by its interfaces
 */
public record VmStats(VmState state, int vcpus, long memoryBytes, long cpuTimeNanos, long blockReadBytes, long blockWriteBytes,
    long netRxBytes, long netTxBytes) {}
