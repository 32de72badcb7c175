package dev.hive.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a VM is: immutable; built with {@link #builder(String)}. A VM boots a kernel and initrd
 * directly, or from its first disk; one with neither boots no OS at all (it only exists).
 */
public final class VmSpec {
  /** The least memory a VM may have. */
  public static final long MIN_MEMORY = 16L * 1024 * 1024;
  /** The most vCPUs a VM may have. */
  public static final int MAX_VCPUS = 256;

  // Letters, digits, '.', '_' and '-': libvirt refuses '/' and names that are only digits look
  // like domain ids to virsh, so Hive keeps to names every hypervisor tool takes as they are.
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

  private final String name;
  private final int vcpus;
  private final long memoryBytes;
  private final List<Path> disks;
  private final Path kernel;
  private final Path initrd;
  private final String cmdline;
  private final String network;
  private final Path serialLog;
  private final String node;

  private VmSpec(Builder b) {
    this.name = b.name;
    this.vcpus = b.vcpus;
    this.memoryBytes = b.memoryBytes;
    this.disks = List.copyOf(b.disks);
    this.kernel = b.kernel;
    this.initrd = b.initrd;
    this.cmdline = b.cmdline;
    this.network = b.network;
    this.serialLog = b.serialLog;
    this.node = b.node;
  }

  /**
   * Returns a builder for a VM named {@code name}: 1 vCPU, 256 MiB, no disk, no network.
   *
   * @throws InvalidSpecException if the name is not 1-63 letters, digits, '.', '_' or '-' starting
   *     with a letter or digit, or is only digits
   */
  public static Builder builder(String name) {
    return new Builder(checkName(name));
  }

  /**
   * Checks a VM name.
   *
   * @return the name
   * @throws InvalidSpecException if it is not one Hive and libvirt both take
   */
  public static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches() || name.chars().allMatch(Character::isDigit)) {
      throw new InvalidSpecException("name", "'" + name + "' is not a VM name: use 1-63 letters, digits, '.', '_' or '-', starting with a"
          + " letter or digit and not only digits (libvirt refuses '/' and virsh takes a number for a domain id), e.g. web-1");
    }
    return name;
  }

  /** Returns a builder holding this spec's values. */
  public Builder toBuilder() {
    Builder b = new Builder(name);
    b.vcpus = vcpus;
    b.memoryBytes = memoryBytes;
    b.disks.addAll(disks);
    b.kernel = kernel;
    b.initrd = initrd;
    b.cmdline = cmdline;
    b.network = network;
    b.serialLog = serialLog;
    b.node = node;
    return b;
  }

  /** Returns its name, also its domain name in the hypervisor. */
  public String name() {
    return name;
  }

  /** Returns its virtual CPUs. */
  public int vcpus() {
    return vcpus;
  }

  /** Returns its memory in bytes. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** Returns its disk images (absolute paths on its node), the first one bootable. */
  public List<Path> disks() {
    return disks;
  }

  /** Returns the kernel it boots directly, if any. */
  public Optional<Path> kernel() {
    return Optional.ofNullable(kernel);
  }

  /** Returns the initrd booted with {@link #kernel()}, if any. */
  public Optional<Path> initrd() {
    return Optional.ofNullable(initrd);
  }

  /** Returns the kernel command line, if any. */
  public Optional<String> cmdline() {
    return Optional.ofNullable(cmdline);
  }

  /** Returns the hypervisor network its one interface joins, if it has one. */
  public Optional<String> network() {
    return Optional.ofNullable(network);
  }

  /** Returns where its first serial port is written, if set (else the runtime chooses). */
  public Optional<Path> serialLog() {
    return Optional.ofNullable(serialLog);
  }

  /** Returns the id or name of the node it must be created on, if set. */
  public Optional<String> node() {
    return Optional.ofNullable(node);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VmSpec s && name.equals(s.name) && vcpus == s.vcpus && memoryBytes == s.memoryBytes && disks.equals(s.disks)
        && Objects.equals(kernel, s.kernel) && Objects.equals(initrd, s.initrd) && Objects.equals(cmdline, s.cmdline)
        && Objects.equals(network, s.network) && Objects.equals(serialLog, s.serialLog) && Objects.equals(node, s.node);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, vcpus, memoryBytes, disks, kernel, initrd, cmdline, network, serialLog, node);
  }

  @Override
  public String toString() {
    return "VmSpec{" + name + ", " + vcpus + " vCPU, " + memoryBytes + " B, disks=" + disks + (kernel == null ? "" : ", kernel=" + kernel) + "}";
  }

  /** Builds a {@link VmSpec}; every setter checks its value, {@link #build()} checks the whole. */
  public static final class Builder {
    private final String name;
    private int vcpus = 1;
    private long memoryBytes = 256L * 1024 * 1024;
    private final List<Path> disks = new ArrayList<>();
    private Path kernel;
    private Path initrd;
    private String cmdline;
    private String network;
    private Path serialLog;
    private String node;

    private Builder(String name) {
      this.name = name;
    }

    /**
     * Sets its virtual CPUs.
     *
     * @throws InvalidSpecException unless 1 to {@value #MAX_VCPUS}
     */
    public Builder vcpus(int value) {
      if (value < 1 || value > MAX_VCPUS) {
        throw new InvalidSpecException("vcpus", "expected 1 to " + MAX_VCPUS + ", got " + value);
      }
      this.vcpus = value;
      return this;
    }

    /**
     * Sets its memory.
     *
     * @throws InvalidSpecException if below 16 MiB
     */
    public Builder memoryBytes(long value) {
      if (value < MIN_MEMORY) {
        throw new InvalidSpecException("memory", "expected at least 16M, got " + value + " bytes");
      }
      this.memoryBytes = value;
      return this;
    }

    /**
     * Adds a disk image (raw or qcow2, by its content).
     *
     * @throws InvalidSpecException if the path is not absolute
     */
    public Builder disk(Path image) {
      disks.add(absolute("disk", image));
      return this;
    }

    /**
     * Boots this kernel directly.
     *
     * @throws InvalidSpecException if the path is not absolute
     */
    public Builder kernel(Path value) {
      this.kernel = absolute("kernel", value);
      return this;
    }

    /**
     * Boots this initrd with the kernel.
     *
     * @throws InvalidSpecException if the path is not absolute
     */
    public Builder initrd(Path value) {
      this.initrd = absolute("initrd", value);
      return this;
    }

    /**
     * Sets the kernel command line.
     *
     * @throws InvalidSpecException if it holds a line break or is longer than 4096 characters
     */
    public Builder cmdline(String value) {
      if (value == null || value.length() > 4096 || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
        throw new InvalidSpecException("cmdline", "expected one line of at most 4096 characters");
      }
      this.cmdline = value;
      return this;
    }

    /**
     * Gives it one network interface on the hypervisor network {@code name} (e.g. {@code default}).
     *
     * @throws InvalidSpecException if the name is blank or holds characters outside letters, digits, '.', '_', '-'
     */
    public Builder network(String name) {
      if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}")) {
        throw new InvalidSpecException("network", "'" + name + "' is not a network name; use letters, digits, '.', '_' or '-'");
      }
      this.network = name;
      return this;
    }

    /**
     * Writes its first serial port to this file (appending).
     *
     * @throws InvalidSpecException if the path is not absolute
     */
    public Builder serialLog(Path file) {
      this.serialLog = absolute("serialLog", file);
      return this;
    }

    /**
     * Creates it on this node (id or name) instead of letting placement choose.
     *
     * @throws InvalidSpecException if blank
     */
    public Builder node(String idOrName) {
      if (idOrName == null || idOrName.isBlank()) {
        throw new InvalidSpecException("node", "expected a node id or name, got a blank");
      }
      this.node = idOrName;
      return this;
    }

    /**
     * Returns the spec.
     *
     * @throws InvalidSpecException if an initrd or command line is given without a kernel, or a
     *     disk is named twice
     */
    public VmSpec build() {
      if (kernel == null && (initrd != null || cmdline != null)) {
        throw new InvalidSpecException("kernel", "an initrd or a command line needs a kernel to boot (--kernel)");
      }
      if (disks.stream().distinct().count() != disks.size()) {
        throw new InvalidSpecException("disk", "a disk image is named twice: " + disks);
      }
      return new VmSpec(this);
    }

    private static Path absolute(String field, Path p) {
      if (p == null || !p.isAbsolute()) {
        throw new InvalidSpecException(field, "expected an absolute path, got " + p);
      }
      return p.normalize();
    }
  }
}
