package dev.hive.spi;

/** Resource use of one workload at one moment. Immutable. */
public final class WorkloadStats {
  private final long cpuNanos;
  private final long memoryBytes;

  /**
   * @param cpuNanos CPU time used since start, in nanoseconds
   * @param memoryBytes resident memory now, in bytes
   */
  public WorkloadStats(long cpuNanos, long memoryBytes) {
    this.cpuNanos = cpuNanos;
    this.memoryBytes = memoryBytes;
  }

  /** Returns CPU time used since start, in nanoseconds. */
  public long cpuNanos() {
    return cpuNanos;
  }

  /** Returns resident memory now, in bytes. */
  public long memoryBytes() {
    return memoryBytes;
  }
}
