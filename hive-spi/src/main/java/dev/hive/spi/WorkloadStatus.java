package dev.hive.spi;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** What a runtime knows of one workload at one moment. Immutable. */
public final class WorkloadStatus {
  /** Whether the workload runs. */
  public enum State {
    /** Its process or container is running. */
    RUNNING,
    /** It has ended; {@link #exitCode()} says how, where known. */
    EXITED
  }

  private final String id;
  private final State state;
  private final OptionalLong pid;
  private final OptionalInt exitCode;
  private final Instant startedAt;
  /** What the workload's own health check (an image's HEALTHCHECK) says. */
  public enum Health {
    /** It has no health check of its own. */
    NONE,
    /** Its check has not decided yet. */
    STARTING,
    /** Its check passes. */
    HEALTHY,
    /** Its check fails. */
    UNHEALTHY;

    /** Reads a health status as Docker and Podman spell it ({@code healthy}, ...); anything else is NONE. */
    public static Health parse(String status) {
      return switch (status == null ? "" : status) {
        case "healthy" -> HEALTHY;
        case "unhealthy" -> UNHEALTHY;
        case "starting" -> STARTING;
        default -> NONE;
      };
    }
  }

  private final Map<String, String> labels;
  private final List<PortBinding> ports;
  private final String reason;
  private final Health health;

  /**
   * @param id the workload's id
   * @param state running or exited
   * @param pid the OS process id, where there is one
   * @param exitCode the exit code once exited, where known
   * @param startedAt when it started, if known
   * @param labels its labels
   * @param ports its port bindings
   * @param reason why it exited or failed, or empty
   */
  public WorkloadStatus(
      String id,
      State state,
      OptionalLong pid,
      OptionalInt exitCode,
      Instant startedAt,
      Map<String, String> labels,
      List<PortBinding> ports,
      String reason) {
    this(id, state, pid, exitCode, startedAt, labels, ports, reason, Health.NONE);
  }

  /**
   * @param id the workload's id
   * @param state running or exited
   * @param pid the OS process id, where there is one
   * @param exitCode the exit code once exited, where known
   * @param startedAt when it started, if known
   * @param labels its labels
   * @param ports its port bindings
   * @param reason why it exited or failed, or empty
   * @param health what its own health check says
   */
  public WorkloadStatus(
      String id,
      State state,
      OptionalLong pid,
      OptionalInt exitCode,
      Instant startedAt,
      Map<String, String> labels,
      List<PortBinding> ports,
      String reason,
      Health health) {
    this.health = Objects.requireNonNull(health, "health");
    this.id = Objects.requireNonNull(id, "id");
    this.state = Objects.requireNonNull(state, "state");
    this.pid = Objects.requireNonNull(pid, "pid");
    this.exitCode = Objects.requireNonNull(exitCode, "exitCode");
    this.startedAt = startedAt;
    this.labels = Map.copyOf(labels);
    this.ports = List.copyOf(ports);
    this.reason = reason == null ? "" : reason;
  }

  /** Returns the workload's id. */
  public String id() {
    return id;
  }

  /** Returns whether it runs. */
  public State state() {
    return state;
  }

  /** Returns the OS process id, where there is one. */
  public OptionalLong pid() {
    return pid;
  }

  /** Returns the exit code once exited, where known. */
  public OptionalInt exitCode() {
    return exitCode;
  }

  /** Returns when it started, if known. */
  public Optional<Instant> startedAt() {
    return Optional.ofNullable(startedAt);
  }

  /** Returns its labels. */
  public Map<String, String> labels() {
    return labels;
  }

  /** Returns its port bindings. */
  public List<PortBinding> ports() {
    return ports;
  }

  /** Returns what its own health check (an image's HEALTHCHECK) says; NONE if it has none. */
  public Health health() {
    return health;
  }

  /** Returns why it exited or failed, or empty. */
  public String reason() {
    return reason;
  }

  @Override
  public String toString() {
    return id + " " + state + pid.stream().mapToObj(p -> " pid " + p).findFirst().orElse("")
        + exitCode.stream().mapToObj(c -> " exit " + c).findFirst().orElse("") + (reason.isEmpty() ? "" : " (" + reason + ")");
  }
}
