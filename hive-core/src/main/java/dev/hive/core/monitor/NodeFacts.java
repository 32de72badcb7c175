package dev.hive.core.monitor;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;

/** The node's capacity from the JVM, read once at start; {@link NodeMonitor} samples what changes. */
public final class NodeFacts {
  private NodeFacts() {}

  /** Returns the host name, or "localhost" when it cannot be read. */
  public static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }

  /** Returns the cores the JVM sees. */
  public static int cpus() {
    return Runtime.getRuntime().availableProcessors();
  }

  /** Returns the physical memory in bytes. */
  public static long memoryBytes() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getTotalMemorySize();
    }
    return Runtime.getRuntime().maxMemory();
  }
}
