package dev.hive.core.monitor;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.hardware.GlobalMemory;
import oshi.hardware.HWDiskStore;
import oshi.hardware.HardwareAbstractionLayer;
import oshi.hardware.NetworkIF;
import oshi.software.os.OSFileStore;
import oshi.software.os.OperatingSystem;

/**
 * Samples the node's CPU, memory, swap, network, file systems and disks through OSHI, as Node
 * Controller does, into a bounded history. Inside a container the cgroup's limits cap what OSHI
 * reports of the host. {@link #sample()} is called by the caller's scheduler, so a test drives it.
 */
public final class NodeMonitor {
  private static final Logger log = LoggerFactory.getLogger(NodeMonitor.class);
  /** Pseudo file systems: their sizes mean nothing to an operator. */
  private static final Set<String> PSEUDO_FS = Set.of("proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "pstore",
      "bpf", "tracefs", "debugfs", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs", "binfmt_misc", "nsfs", "rpc_pipefs", "squashfs");

  private final Clock clock;
  private final int historySize;
  private final HardwareAbstractionLayer hardware;
  private final OperatingSystem os;
  private final ContainerLimits limits;
  private final Deque<NodeSample> history = new ArrayDeque<>();
  private long[] previousTicks;

  /**
   * @param historySize how many samples to keep (the oldest are dropped)
   */
  public NodeMonitor(Clock clock, int historySize) {
    if (historySize < 1) {
      throw new IllegalArgumentException("historySize must be at least 1, was " + historySize);
    }
    this.clock = clock;
    this.historySize = historySize;
    SystemInfo system = new SystemInfo();
    this.hardware = system.getHardware();
    this.os = system.getOperatingSystem();
    this.limits = ContainerLimits.read();
    this.previousTicks = hardware.getProcessor().getSystemCpuLoadTicks();
  }

  /** Takes a sample, adds it to the history and returns it. */
  public NodeSample sample() {
    CentralProcessor cpu = hardware.getProcessor();
    long[] ticks = cpu.getSystemCpuLoadTicks();
    double usage = cpu.getSystemCpuLoadBetweenTicks(previousTicks, ticks);
    previousTicks = ticks;
    double[] load = cpu.getSystemLoadAverage(3);
    GlobalMemory memory = hardware.getMemory();
    long total = memory.getTotal();
    long available = memory.getAvailable();
    if (limits.memoryBytes().isPresent() && limits.memoryBytes().getAsLong() < total) {
      long limit = limits.memoryBytes().getAsLong();
      available = Math.max(0, Math.min(available, limit - (total - available)));
      total = limit;
    }
    List<NodeSample.Interface> interfaces = new ArrayList<>();
    for (NetworkIF nic : hardware.getNetworkIFs(true)) {
      interfaces.add(new NodeSample.Interface(nic.getName(), nic.getBytesRecv(), nic.getBytesSent(), nic.getPacketsRecv(), nic.getPacketsSent(),
          nic.getInErrors(), nic.getOutErrors()));
    }
    List<NodeSample.FileSystem> fileSystems = new ArrayList<>();
    for (OSFileStore store : os.getFileSystem().getFileStores(true)) {
      if (!PSEUDO_FS.contains(store.getType()) && store.getTotalSpace() > 0) {
        fileSystems.add(new NodeSample.FileSystem(store.getMount(), store.getType(), store.getVolume(), store.getTotalSpace(), store.getUsableSpace()));
      }
    }
    List<NodeSample.Disk> disks = new ArrayList<>();
    for (HWDiskStore disk : hardware.getDiskStores()) {
      disks.add(new NodeSample.Disk(disk.getName(), disk.getReads(), disk.getWrites(), disk.getReadBytes(), disk.getWriteBytes()));
    }
    NodeSample sample = new NodeSample(clock.millis(), Double.isNaN(usage) ? 0 : usage, load[0], load[1], load[2], total, available,
        memory.getVirtualMemory().getSwapTotal(), memory.getVirtualMemory().getSwapUsed(), os.getSystemUptime(), List.copyOf(interfaces),
        List.copyOf(fileSystems), List.copyOf(disks));
    synchronized (history) {
      history.addLast(sample);
      while (history.size() > historySize) {
        history.removeFirst();
      }
    }
    return sample;
  }

  /** Returns the latest sample, if one was taken. */
  public Optional<NodeSample> latest() {
    synchronized (history) {
      return Optional.ofNullable(history.peekLast());
    }
  }

  /** Returns the samples kept, oldest first. */
  public List<NodeSample> history() {
    synchronized (history) {
      return List.copyOf(history);
    }
  }

  /** Returns the cgroup limits this process runs under. */
  public ContainerLimits limits() {
    return limits;
  }

  /** Returns the system's fixed facts: OS, kernel, architecture, cores. */
  public Map<String, Object> system() {
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("os", os.getFamily() + " " + os.getVersionInfo().getVersion());
    facts.put("kernel", System.getProperty("os.version"));
    facts.put("arch", System.getProperty("os.arch"));
    facts.put("bitness", os.getBitness());
    facts.put("cpuModel", hardware.getProcessor().getProcessorIdentifier().getName().trim());
    facts.put("physicalCores", hardware.getProcessor().getPhysicalProcessorCount());
    facts.put("logicalCores", hardware.getProcessor().getLogicalProcessorCount());
    limits.cpus().ifPresent(c -> facts.put("cgroupCpuLimit", c));
    limits.memoryBytes().ifPresent(m -> facts.put("cgroupMemoryLimitBytes", m));
    return facts;
  }

  /** Returns a sample as the API shows it. */
  public static Map<String, Object> describe(NodeSample s) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("time", java.time.Instant.ofEpochMilli(s.atMillis()).toString());
    o.put("cpuUsage", round(s.cpuUsage()));
    o.put("load", List.of(round(s.load1()), round(s.load5()), round(s.load15())));
    o.put("memoryTotalBytes", s.memoryTotalBytes());
    o.put("memoryAvailableBytes", s.memoryAvailableBytes());
    o.put("memoryUsage", round(s.memoryUsage()));
    o.put("swapTotalBytes", s.swapTotalBytes());
    o.put("swapUsedBytes", s.swapUsedBytes());
    o.put("uptimeSeconds", s.uptimeSeconds());
    o.put("network", s.interfaces());
    o.put("fileSystems", s.fileSystems());
    o.put("disks", s.disks());
    return o;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

}
