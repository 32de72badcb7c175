package dev.hive.core.monitor;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The node's basic facts from the JVM and /proc: enough for {@code hive node info} until the
 * OSHI-based monitor of the issue "Service discovery and node monitoring" arrives.
 */
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

  /** Returns a snapshot of the node's facts, with stable field names. */
  public static Map<String, Object> snapshot() {
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("hostname", hostName());
    facts.put("os", System.getProperty("os.name"));
    facts.put("kernel", System.getProperty("os.version"));
    facts.put("arch", System.getProperty("os.arch"));
    facts.put("cpus", cpus());
    facts.put("loadAverage", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    facts.put("memoryTotalBytes", memoryBytes());
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      facts.put("memoryFreeBytes", os.getFreeMemorySize());
      facts.put("cpuUsage", os.getCpuLoad());
    }
    try {
      String uptime = Files.readString(Path.of("/proc/uptime")).trim().split("\\s+")[0];
      facts.put("uptimeSeconds", (long) Double.parseDouble(uptime));
    } catch (java.io.IOException | RuntimeException e) {
      facts.put("uptimeSeconds", null);
    }
    facts.put("java", System.getProperty("java.version"));
    return facts;
  }
}
