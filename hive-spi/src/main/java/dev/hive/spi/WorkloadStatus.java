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
  private final Map<String, String> labels;
  private final List<PortBinding> ports;
  private final String reason;

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
