package dev.hive.core.reconcile;

import dev.hive.api.HiveException;
import dev.hive.spi.RuntimeCapabilities;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.WorkloadStats;
import dev.hive.spi.WorkloadStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * A runtime whose workloads are entries in a map, for testing the reconciler's decisions in
 * virtual time. The real runtimes are tested by the runtime compatibility kit.
 */
final class FakeRuntime implements WorkloadRuntime {
  final Map<String, WorkloadStatus> workloads = new LinkedHashMap<>();
  final List<String> started = new ArrayList<>();
  final List<String> stopped = new ArrayList<>();
  String failNextStartWith;
  boolean failStarts;
  /** While set, every call fails as a daemon that does not answer would. */
  volatile boolean unreachable;
  private long nextPid = 1000;

  @Override
  public String name() {
    return "process";
  }

  @Override
  public RuntimeCapabilities capabilities() {
    return new RuntimeCapabilities(true, false, false, "fake");
  }

  @Override
  public synchronized WorkloadStatus start(WorkloadSpec spec) {
    checkReachable();
    if (failNextStartWith != null) {
      String message = failNextStartWith;
      failNextStartWith = null;
      throw new HiveException(message);
    }
    if (failStarts) {
      throw new HiveException("cannot start " + spec.id() + " (test)");
    }
    if (workloads.containsKey(spec.id()) && workloads.get(spec.id()).state() == WorkloadStatus.State.RUNNING) {
      // As the real runtimes do: one workload per id.
      throw new dev.hive.api.ConflictException("workload " + spec.id() + " is already running (test)");
    }
    started.add(spec.id());
    WorkloadStatus s = new WorkloadStatus(spec.id(), WorkloadStatus.State.RUNNING, OptionalLong.of(nextPid++), OptionalInt.empty(), null, spec.labels(), spec.ports(), "");
    workloads.put(spec.id(), s);
    return s;
  }

  private void checkReachable() {
    if (unreachable) {
      throw new HiveException("cannot reach the fake daemon (test): connection refused");
    }
  }

  /** Makes a workload exit as if its process had ended with {@code code}. */
  synchronized void exit(String id, int code) {
    WorkloadStatus s = workloads.get(id);
    workloads.put(id, new WorkloadStatus(id, WorkloadStatus.State.EXITED, s.pid(), OptionalInt.of(code), null, s.labels(), s.ports(), "exited with code " + code));
  }

  synchronized long running() {
    return workloads.values().stream().filter(s -> s.state() == WorkloadStatus.State.RUNNING).count();
  }

  @Override
  public synchronized void stop(String id, Duration grace) {
    checkReachable();
    if (workloads.containsKey(id) && workloads.get(id).state() == WorkloadStatus.State.RUNNING) {
      stopped.add(id);
      exit(id, 143);
    }
  }

  @Override
  public synchronized void remove(String id) {
    workloads.remove(id);
  }

  @Override
  public synchronized Optional<WorkloadStatus> inspect(String id) {
    checkReachable();
    return Optional.ofNullable(workloads.get(id));
  }

  @Override
  public synchronized List<WorkloadStatus> list(Map<String, String> labels) {
    checkReachable();
    return workloads.values().stream().filter(s -> s.labels().entrySet().containsAll(labels.entrySet())).toList();
  }

  @Override
  public List<String> logs(String id, int lines) {
    return List.of();
  }

  @Override
  public Optional<WorkloadStats> stats(String id) {
    return Optional.empty();
  }

  @Override
  public void onExit(Consumer<WorkloadStatus> listener) {}

  @Override
  public void close() {}
}
