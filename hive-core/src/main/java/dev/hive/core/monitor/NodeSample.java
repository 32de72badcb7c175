package dev.hive.core.monitor;

import java.util.List;

/**
 * One sample of a node's resources. Counters (bytes, packets, errors, I/O) are totals since boot,
 * as the kernel keeps them; rates come from two samples.
 *
 * @param atMillis when it was taken
 * @param cpuUsage the fraction of all cores busy since the previous sample (0..1)
 * @param load1 the 1-minute load average (-1 when unknown)
 * @param load5 the 5-minute load average
 * @param load15 the 15-minute load average
 * @param memoryTotalBytes physical memory, or the cgroup's limit when lower
 * @param memoryAvailableBytes memory available to new work
 * @param swapTotalBytes swap space
 * @param swapUsedBytes swap in use
 * @param uptimeSeconds seconds since boot
 * @param interfaces per network interface
 * @param fileSystems per mounted file system
 * @param disks per block device
 */
public record NodeSample(
    long atMillis,
    double cpuUsage,
    double load1,
    double load5,
    double load15,
    long memoryTotalBytes,
    long memoryAvailableBytes,
    long swapTotalBytes,
    long swapUsedBytes,
    long uptimeSeconds,
    List<Interface> interfaces,
    List<FileSystem> fileSystems,
    List<Disk> disks) {

  /** A network interface's counters. */
  public record Interface(String name, long rxBytes, long txBytes, long rxPackets, long txPackets, long rxErrors, long txErrors) {}

  /** A mounted file system's size and free space. */
  public record FileSystem(String mount, String type, String device, long totalBytes, long usableBytes) {}

  /** A block device's I/O counters. */
  public record Disk(String name, long reads, long writes, long readBytes, long writeBytes) {}

  /** Returns the fraction of memory in use (0..1). */
  public double memoryUsage() {
    return memoryTotalBytes <= 0 ? 0 : 1.0 - (double) memoryAvailableBytes / memoryTotalBytes;
  }
}
