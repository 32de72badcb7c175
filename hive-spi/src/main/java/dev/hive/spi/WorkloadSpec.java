package dev.hive.spi;

import dev.hive.api.InvalidSpecException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One workload for a runtime to start: what to run, with which environment, ports, labels and
 * limits. Immutable; built by {@link #builder(String)}.
 */
public final class WorkloadSpec {
  private final String id;
  private final String command;
  private final String image;
  private final Map<String, String> env;
  private final List<PortBinding> ports;
  private final Map<String, String> labels;
  private final double cpus;
  private final long memoryBytes;
  private final Map<String, String> volumes;
  private final List<String> entrypoint;
  private final List<String> args;

  private WorkloadSpec(Builder b) {
    this.id = b.id;
    this.command = b.command;
    this.image = b.image;
    this.env = Map.copyOf(b.env);
    this.ports = List.copyOf(b.ports);
    this.labels = Map.copyOf(b.labels);
    this.cpus = b.cpus;
    this.memoryBytes = b.memoryBytes;
    this.volumes = Map.copyOf(b.volumes);
    this.entrypoint = b.entrypoint == null ? null : List.copyOf(b.entrypoint);
    this.args = b.args == null ? null : List.copyOf(b.args);
  }

  /**
   * Returns the program that replaces the image's entrypoint (exec form, no shell), or null to keep
   * the image's. A {@link #command()} given with an image runs as {@code /bin/sh -c command}.
   */
  public List<String> entrypoint() {
    return entrypoint;
  }

  /** Returns the arguments that replace the image's CMD (exec form), or null to keep the image's. */
  public List<String> args() {
    return args;
  }

  /**
   * Returns host directories to mount, host path to path inside the workload. A process runtime
   * runs on the host and sees the host path (also given as {@code HIVE_VOLUME}).
   */
  public Map<String, String> volumes() {
    return volumes;
  }

  /**
   * Starts a spec for the workload {@code id}.
   *
   * @throws InvalidSpecException if the id is not 1-100 letters, digits, '.', '_' or '-'
   */
  public static Builder builder(String id) {
    return new Builder(id);
  }

  /** Returns the workload's id, unique on the node; runtimes name their container or files by it. */
  public String id() {
    return id;
  }

  /** Returns the shell command: alone, run on the host; with an image, run inside it; or null. */
  public String command() {
    return command;
  }

  /** Returns the image, or null for a command on the host. */
  public String image() {
    return image;
  }

  /** Returns the environment, including {@code PORT} and {@code PORT_<NAME>}. */
  public Map<String, String> env() {
    return env;
  }

  /** Returns the port bindings, in declaration order. */
  public List<PortBinding> ports() {
    return ports;
  }

  /** Returns the labels the runtime attaches so that {@link WorkloadRuntime#list(Map)} finds it. */
  public Map<String, String> labels() {
    return labels;
  }

  /** Returns the CPU limit in cores, 0 for none. */
  public double cpus() {
    return cpus;
  }

  /** Returns the memory limit in bytes, 0 for none. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** Builds a {@link WorkloadSpec}. */
  public static final class Builder {
    private final String id;
    private String command;
    private String image;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<PortBinding> ports = new ArrayList<>();
    private final Map<String, String> labels = new LinkedHashMap<>();
    private double cpus;
    private long memoryBytes;
    private final Map<String, String> volumes = new LinkedHashMap<>();
    private List<String> entrypoint;
    private List<String> args;

    private Builder(String id) {
      if (id == null || !id.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}")) {
        throw new InvalidSpecException("id", "'" + id + "' must be 1-100 letters, digits, '.', '_' or '-'");
      }
      this.id = id;
    }

    /** Sets the shell command. */
    public Builder command(String command) {
      this.command = Objects.requireNonNull(command, "command");
      return this;
    }

    /** Sets the image. */
    public Builder image(String image) {
      this.image = Objects.requireNonNull(image, "image");
      return this;
    }

    /** Adds environment variables. */
    public Builder env(Map<String, String> env) {
      this.env.putAll(env);
      return this;
    }

    /** Adds one environment variable. */
    public Builder env(String key, String value) {
      this.env.put(key, value);
      return this;
    }

    /** Adds a port binding. */
    public Builder port(PortBinding port) {
      this.ports.add(Objects.requireNonNull(port, "port"));
      return this;
    }

    /** Adds labels. */
    public Builder labels(Map<String, String> labels) {
      this.labels.putAll(labels);
      return this;
    }

    /** Adds one label. */
    public Builder label(String key, String value) {
      this.labels.put(key, value);
      return this;
    }

    /** Sets the CPU limit in cores, 0 for none. */
    public Builder cpus(double cpus) {
      this.cpus = cpus;
      return this;
    }

    /** Sets the memory limit in bytes, 0 for none. */
    public Builder memoryBytes(long memoryBytes) {
      this.memoryBytes = memoryBytes;
      return this;
    }

    /** Mounts the host directory {@code hostPath} at {@code path} inside the workload. */
    public Builder volume(String hostPath, String path) {
      this.volumes.put(Objects.requireNonNull(hostPath, "hostPath"), Objects.requireNonNull(path, "path"));
      return this;
    }

    /** Replaces the image's entrypoint by {@code entrypoint} (exec form); images only. */
    public Builder entrypoint(List<String> entrypoint) {
      this.entrypoint = List.copyOf(entrypoint);
      return this;
    }

    /** Replaces the image's CMD by {@code args} (exec form); images only. */
    public Builder args(List<String> args) {
      this.args = List.copyOf(args);
      return this;
    }

    /**
     * Builds the spec.
     *
     * @throws InvalidSpecException unless a command or an image is set, or if an entrypoint or
     *     args are given without an image, or args together with a shell command
     */
    public WorkloadSpec build() {
      if (command == null && image == null) {
        throw new InvalidSpecException("command", "a workload runs a command, an image, or a command in an image");
      }
      if (image == null && (entrypoint != null || args != null)) {
        throw new InvalidSpecException("args", "an entrypoint or args replace an image's; give the image too");
      }
      if (command != null && (entrypoint != null || args != null)) {
        throw new InvalidSpecException("command", "a shell command replaces the image's entrypoint and CMD; give it or an entrypoint/args, not both");
      }
      return new WorkloadSpec(this);
    }
  }
}
