package dev.hive.core.monitor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The CPU and memory limits of the cgroup this JVM runs in. OSHI reads the host's /proc, so inside
 * a container it reports the host's cores and memory; the limits say what Hive may actually use.
 * Reads cgroup v2 ({@code memory.max}, {@code cpu.max}) and v1 ({@code memory.limit_in_bytes},
 * {@code cpu.cfs_quota_us}/{@code cpu.cfs_period_us}).
 *
 * @param cpus the CPU quota in cores, if one is set
 * @param memoryBytes the memory limit, if one is set
 */
public record ContainerLimits(OptionalDouble cpus, OptionalLong memoryBytes) {
  /** Values this large mean "no limit" in cgroup v1. */
  private static final long V1_UNLIMITED = Long.MAX_VALUE / 2;

  /** Reads the limits of this process's cgroups under {@code /sys/fs/cgroup}. */
  public static ContainerLimits read() {
    return read(Path.of("/proc/self/cgroup"), Path.of("/sys/fs/cgroup"));
  }

  static ContainerLimits read(Path procCgroup, Path root) {
    List<String> lines;
    try {
      lines = Files.readAllLines(procCgroup);
    } catch (IOException e) {
      return new ContainerLimits(OptionalDouble.empty(), OptionalLong.empty());
    }
    OptionalDouble cpus = OptionalDouble.empty();
    OptionalLong memory = OptionalLong.empty();
    for (String line : lines) {
      String[] parts = line.split(":", 3);
      if (parts.length != 3) {
        continue;
      }
      String path = parts[2];
      if (parts[1].isEmpty()) {
        // cgroup v2: one unified hierarchy.
        Path dir = root.resolve(path.substring(1));
        memory = min(memory, v2Memory(dir.resolve("memory.max")));
        cpus = min(cpus, v2Cpu(dir.resolve("cpu.max")));
      }
      for (String controller : parts[1].split(",")) {
        if (controller.equals("memory")) {
          long limit = number(root.resolve("memory").resolve(path.substring(1)).resolve("memory.limit_in_bytes"));
          memory = min(memory, limit > 0 && limit < V1_UNLIMITED ? OptionalLong.of(limit) : OptionalLong.empty());
        } else if (controller.equals("cpu")) {
          Path dir = root.resolve(parts[1]).resolve(path.substring(1));
          long quota = number(dir.resolve("cpu.cfs_quota_us"));
          long period = number(dir.resolve("cpu.cfs_period_us"));
          if (quota > 0 && period > 0) {
            cpus = min(cpus, OptionalDouble.of((double) quota / period));
          }
        }
      }
    }
    return new ContainerLimits(cpus, memory);
  }

  private static OptionalLong v2Memory(Path file) {
    long limit = number(file);
    return limit > 0 ? OptionalLong.of(limit) : OptionalLong.empty();
  }

  private static OptionalDouble v2Cpu(Path file) {
    try {
      String[] parts = Files.readString(file).trim().split("\\s+");
      if (parts.length == 2 && !parts[0].equals("max")) {
        return OptionalDouble.of(Double.parseDouble(parts[0]) / Double.parseDouble(parts[1]));
      }
    } catch (IOException | NumberFormatException e) {
      // No limit to read.
    }
    return OptionalDouble.empty();
  }

  /** Returns the number in {@code file}, or -1 when it is missing or says "max". */
  private static long number(Path file) {
    try {
      return Long.parseLong(Files.readString(file).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  private static OptionalLong min(OptionalLong a, OptionalLong b) {
    return a.isEmpty() ? b : b.isEmpty() ? a : OptionalLong.of(Math.min(a.getAsLong(), b.getAsLong()));
  }

  private static OptionalDouble min(OptionalDouble a, OptionalDouble b) {
    return a.isEmpty() ? b : b.isEmpty() ? a : OptionalDouble.of(Math.min(a.getAsDouble(), b.getAsDouble()));
  }
}
