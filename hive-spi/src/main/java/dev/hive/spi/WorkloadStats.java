package dev.hive.spi;

/** Resource use of one workload at one moment. Immutable. */
public final class WorkloadStats {
  private final long cpuNanos;
  private final long memoryBytes;
  private final long networkRxBytes;
  private final long networkTxBytes;

  /**
   * @param cpuNanos CPU time used since start, in nanoseconds
   * @param memoryBytes resident memory now, in bytes
   */
  public WorkloadStats(long cpuNanos, long memoryBytes) {
    this(cpuNanos, memoryBytes, -1, -1);
  }

  /**
   * @param cpuNanos CPU time used since start, in nanoseconds
   * @param memoryBytes resident memory now, in bytes
   * @param networkRxBytes bytes received on its own network interfaces, -1 if it has none of its own
   * @param networkTxBytes bytes sent on its own network interfaces, -1 if it has none of its own
   */
  public WorkloadStats(long cpuNanos, long memoryBytes, long networkRxBytes, long networkTxBytes) {
    this.cpuNanos = cpuNanos;
    this.memoryBytes = memoryBytes;
    this.networkRxBytes = networkRxBytes;
    this.networkTxBytes = networkTxBytes;
  }

  /** Returns CPU time used since start, in nanoseconds. */
  public long cpuNanos() {
    return cpuNanos;
  }

  /** Returns resident memory now, in bytes. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** Returns bytes received on its own network interfaces, or -1 (a process shares the host's). */
  public long networkRxBytes() {
    return networkRxBytes;
  }

  /** Returns bytes sent on its own network interfaces, or -1 (a process shares the host's). */
  public long networkTxBytes() {
    return networkTxBytes;
  }
}
