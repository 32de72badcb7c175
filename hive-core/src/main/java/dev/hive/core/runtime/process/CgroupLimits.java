package dev.hive.core.runtime.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * CPU and memory limits for processes through cgroups, where this host lets Hive create them.
 * Works with cgroup v1 (separate {@code cpu} and {@code memory} hierarchies) and v2 (one unified
 * hierarchy with both controllers). A process joins its group itself, before it execs the
 * workload, by writing its pid to each {@code cgroup.procs} (so no instant runs unlimited).
 */
final class CgroupLimits {
  private static final long CFS_PERIOD_US = 100_000;

  private enum Mode {
    V1,
    V2,
    NONE
  }

  private final Mode mode;
  private final Path cpuRoot;
  private final Path memoryRoot;
  private final String note;

  private CgroupLimits(Mode mode, Path cpuRoot, Path memoryRoot, String note) {
    this.mode = mode;
    this.cpuRoot = cpuRoot;
    this.memoryRoot = memoryRoot;
    this.note = note;
  }

  /** Probes {@code mount} (normally /sys/fs/cgroup) for a place to make groups under {@code parent}. */
  static CgroupLimits detect(Path mount, String parent) {
    Path v2Controllers = mount.resolve("cgroup.controllers");
    try {
      if (Files.isRegularFile(v2Controllers)) {
        String controllers = Files.readString(v2Controllers);
        if (!controllers.contains("cpu") || !controllers.contains("memory")) {
          return none("cgroup v2 at " + mount + " lacks the cpu or memory controller");
        }
        Path root = mount.resolve(parent);
        Files.createDirectories(root);
        Files.writeString(mount.resolve("cgroup.subtree_control"), "+cpu +memory");
        Files.writeString(root.resolve("cgroup.subtree_control"), "+cpu +memory");
        return new CgroupLimits(Mode.V2, root, root, "cgroup v2 at " + root);
      }
      Path cpu = firstDirectory(mount.resolve("cpu"), mount.resolve("cpu,cpuacct"));
      Path memory = mount.resolve("memory");
      if (cpu == null || !Files.isDirectory(memory)) {
        return none("no writable cgroup hierarchy with cpu and memory under " + mount);
      }
      Path cpuRoot = cpu.resolve(parent);
      Path memoryRoot = memory.resolve(parent);
      Files.createDirectories(cpuRoot);
      Files.createDirectories(memoryRoot);
      if (!Files.isWritable(cpuRoot.resolve("cgroup.procs")) || !Files.isWritable(memoryRoot.resolve("cgroup.procs"))) {
        return none("cgroup v1 groups under " + mount + " are not writable by this user");
      }
      return new CgroupLimits(Mode.V1, cpuRoot, memoryRoot, "cgroup v1 at " + cpuRoot + " and " + memoryRoot);
    } catch (IOException | RuntimeException e) {
      return none("cgroups under " + mount + " cannot be created here (" + e.getMessage() + "); run Hive as root or delegate a cgroup to it");
    }
  }

  static CgroupLimits none(String why) {
    return new CgroupLimits(Mode.NONE, null, null, why);
  }

  private static Path firstDirectory(Path... candidates) {
    for (Path p : candidates) {
      if (Files.isDirectory(p)) {
        return p;
      }
    }
    return null;
  }

  boolean available() {
    return mode != Mode.NONE;
  }

  /** Returns how limits are enforced, or why they cannot be. */
  String note() {
    return note;
  }

  /**
   * Creates the groups of workload {@code id} with its limits.
   *
   * @return the {@code cgroup.procs} files the process must write its pid to
   */
  List<Path> create(String id, double cpus, long memoryBytes) throws IOException {
    List<Path> procs = new ArrayList<>();
    if (mode == Mode.V2) {
      Path group = cpuRoot.resolve(id);
      Files.createDirectories(group);
      if (cpus > 0) {
        Files.writeString(group.resolve("cpu.max"), quota(cpus) + " " + CFS_PERIOD_US);
      }
      if (memoryBytes > 0) {
        Files.writeString(group.resolve("memory.max"), Long.toString(memoryBytes));
      }
      procs.add(group.resolve("cgroup.procs"));
    } else if (mode == Mode.V1) {
      Path cpuGroup = cpuRoot.resolve(id);
      Path memoryGroup = memoryRoot.resolve(id);
      Files.createDirectories(cpuGroup);
      Files.createDirectories(memoryGroup);
      if (cpus > 0) {
        Files.writeString(cpuGroup.resolve("cpu.cfs_period_us"), Long.toString(CFS_PERIOD_US));
        Files.writeString(cpuGroup.resolve("cpu.cfs_quota_us"), Long.toString(quota(cpus)));
      }
      if (memoryBytes > 0) {
        Files.writeString(memoryGroup.resolve("memory.limit_in_bytes"), Long.toString(memoryBytes));
      }
      procs.add(cpuGroup.resolve("cgroup.procs"));
      procs.add(memoryGroup.resolve("cgroup.procs"));
    }
    return procs;
  }

  /** Returns the directories of workload {@code id}'s groups (whether or not they exist). */
  List<Path> groups(String id) {
    if (mode == Mode.V2) {
      return List.of(cpuRoot.resolve(id));
    } else if (mode == Mode.V1) {
      return List.of(cpuRoot.resolve(id), memoryRoot.resolve(id));
    }
    return List.of();
  }

  /** Removes workload {@code id}'s groups; they must hold no process any more. */
  void remove(String id) {
    for (Path group : groups(id)) {
      try {
        Files.deleteIfExists(group);
      } catch (IOException e) {
        // A group that still holds a dying process is removed on the next attempt.
      }
    }
  }

  private static long quota(double cpus) {
    return Math.max(1000, Math.round(cpus * CFS_PERIOD_US));
  }

  @Override
  public String toString() {
    return mode.name().toLowerCase(Locale.ROOT) + ": " + note;
  }
}
