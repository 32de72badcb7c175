package dev.hive.backend.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.Statistics;
import com.github.dockerjava.api.model.Volume;
import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.spi.PortBinding;
import dev.hive.spi.RuntimeCapabilities;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.WorkloadStats;
import dev.hive.spi.WorkloadStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workloads as Docker containers, through the Engine API with docker-java.
 *
 * <p>Naming and labels as the podman runtime: {@code hive-<node>-<id>}, plus {@code
 * dev.hive.owner}, {@code dev.hive.id} and {@code dev.hive.ports}. Docker runs an image's
 * HEALTHCHECK itself; a watcher notices exits.
 */
final class DockerRuntime implements WorkloadRuntime {
  private static final Logger log = LoggerFactory.getLogger(DockerRuntime.class);
  static final String OWNER = "dev.hive.owner";
  static final String ID = "dev.hive.id";
  static final String PORTS = "dev.hive.ports";

  private final DockerClient docker;
  private final String endpoint;
  private final String owner;
  private final String namePrefix;
  private final Duration pullTimeout;
  private final ScheduledExecutorService watcher;
  private final List<Consumer<WorkloadStatus>> exitListeners = new CopyOnWriteArrayList<>();
  private final Map<String, Boolean> running = new ConcurrentHashMap<>();

  DockerRuntime(DockerClient docker, String endpoint, String nodeId, Duration watchInterval, Duration pullTimeout) {
    this.docker = docker;
    this.endpoint = endpoint;
    this.owner = nodeId;
    this.namePrefix = "hive-" + nodeId.replaceAll("[^A-Za-z0-9_.-]", "").substring(0, Math.min(12, nodeId.length())) + "-";
    this.pullTimeout = pullTimeout;
    this.watcher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "hive-docker-watcher");
              t.setDaemon(true);
              return t;
            });
    long ms = watchInterval.toMillis();
    watcher.scheduleWithFixedDelay(this::watch, ms, ms, TimeUnit.MILLISECONDS);
  }

  @Override
  public String name() {
    return "docker";
  }

  @Override
  public RuntimeCapabilities capabilities() {
    return new RuntimeCapabilities(false, true, true, "NanoCPUs and memory limit on each container (docker)");
  }

  private String containerName(String id) {
    return namePrefix + id;
  }

  /** Runs a call; a daemon that does not answer becomes an error naming where it was sought. */
  private <T> T call(String what, Supplier<T> action) {
    try {
      return action.get();
    } catch (DockerException e) {
      throw e;
    } catch (RuntimeException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof java.io.IOException) {
        throw new UnavailableException("docker is not reachable at " + endpoint + " (" + cause.getMessage() + ") while " + what
            + "; start dockerd or set DOCKER_HOST / hive.docker.host", e);
      }
      throw e;
    }
  }

  private static String message(DockerException e) {
    String m = e.getMessage() == null ? "" : e.getMessage();
    // docker-java prefixes "Status 500: {"message":"..."}": keep what the daemon said.
    int at = m.indexOf("\"message\":\"");
    if (at >= 0) {
      int end = m.indexOf('"', at + 11);
      return end > at ? m.substring(at + 11, end) : m;
    }
    return m.strip();
  }

  @Override
  public WorkloadStatus start(WorkloadSpec spec) {
    if (spec.image() == null) {
      throw new HiveException("the docker runtime runs images; give an image (and optionally a command to run in it)");
    }
    String name = containerName(spec.id());
    Optional<WorkloadStatus> existing = inspect(spec.id());
    if (existing.isPresent()) {
      if (existing.get().state() == WorkloadStatus.State.RUNNING) {
        throw new HiveException("workload " + spec.id() + " is already running as container " + name);
      }
      remove(spec.id());
    }
    ensureImage(spec.image());
    try {
      call("creating " + name, () -> createCommand(spec, name).exec());
    } catch (DockerException e) {
      throw new HiveException("docker cannot create a container for " + spec.id() + " from " + spec.image() + ": " + message(e), e);
    }
    try {
      call("starting " + name, () -> docker.startContainerCmd(name).exec());
    } catch (DockerException e) {
      remove(spec.id()); // nothing is left behind
      throw new HiveException("docker cannot start " + spec.id() + " (" + spec.image() + "): " + message(e), e);
    }
    WorkloadStatus status = inspect(spec.id()).orElseThrow(() -> new HiveException("container " + name + " vanished right after it started"));
    // Watched even if it has exited already, so a quick exit is reported too.
    running.put(spec.id(), true);
    return status;
  }

  private CreateContainerCmd createCommand(WorkloadSpec spec, String name) {
    Map<String, String> labels = new LinkedHashMap<>(spec.labels());
    labels.put(OWNER, owner);
    labels.put(ID, spec.id());
    labels.put(PORTS, PortBinding.encode(spec.ports()));
    List<String> env = new ArrayList<>();
    spec.env().forEach((k, v) -> env.add(k + "=" + v));
    // An init process forwards signals, so a container stops on SIGTERM like a process does.
    HostConfig host = HostConfig.newHostConfig().withInit(true);
    List<ExposedPort> exposed = new ArrayList<>();
    Ports bindings = new Ports();
    for (PortBinding p : spec.ports()) {
      ExposedPort e = ExposedPort.tcp(p.port());
      exposed.add(e);
      bindings.bind(e, Ports.Binding.bindPort(p.hostPort()));
    }
    host.withPortBindings(bindings);
    List<Bind> binds = new ArrayList<>();
    spec.volumes().forEach((hostPath, path) -> binds.add(new Bind(hostPath, new Volume(path))));
    host.withBinds(binds);
    if (spec.cpus() > 0) {
      host.withNanoCPUs(Math.round(spec.cpus() * 1e9));
    }
    if (spec.memoryBytes() > 0) {
      host.withMemory(spec.memoryBytes());
    }
    CreateContainerCmd cmd = docker.createContainerCmd(spec.image()).withName(name).withLabels(labels).withEnv(env).withExposedPorts(exposed).withHostConfig(host);
    if (spec.command() != null) {
      cmd.withEntrypoint("/bin/sh", "-c").withCmd(spec.command());
    } else {
      if (spec.entrypoint() != null) {
        cmd.withEntrypoint(spec.entrypoint());
      }
      if (spec.args() != null) {
        cmd.withCmd(spec.args());
      }
    }
    return cmd;
  }

  /** Uses a local image as it is; pulls an absent one, failing clearly when no registry answers. */
  private void ensureImage(String image) {
    try {
      call("inspecting image " + image, () -> docker.inspectImageCmd(image).exec());
      return;
    } catch (NotFoundException absent) {
      // pulled below
    }
    try {
      boolean done = call("pulling " + image, () -> {
        try {
          return docker.pullImageCmd(image).start().awaitCompletion(pullTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new HiveException("interrupted while pulling " + image, e);
        }
      });
      if (!done) {
        throw new HiveException("image " + image + " not found locally and the pull did not finish within " + pullTimeout.toSeconds() + " s");
      }
    } catch (DockerException e) {
      throw new HiveException("image " + image + " not found locally and no registry reachable (" + message(e) + ")", e);
    }
  }

  @Override
  public void stop(String id, Duration grace) {
    int seconds = (int) Math.max(1, (grace.toMillis() + 999) / 1000);
    try {
      call("stopping " + id, () -> docker.stopContainerCmd(containerName(id)).withTimeout(seconds).exec());
    } catch (NotFoundException | NotModifiedException e) {
      // unknown or already stopped: nothing to do
    }
    running.remove(id);
  }

  @Override
  public void remove(String id) {
    String name = containerName(id);
    try {
      call("removing " + id, () -> docker.removeContainerCmd(name).withForce(true).withRemoveVolumes(true).exec());
    } catch (NotFoundException e) {
      // already gone
    } catch (DockerException e) {
      throw new HiveException("docker cannot remove " + id + ": " + message(e), e);
    }
    running.remove(id);
  }

  @Override
  public Optional<WorkloadStatus> inspect(String id) {
    InspectContainerResponse c;
    try {
      c = call("inspecting " + id, () -> docker.inspectContainerCmd(containerName(id)).exec());
    } catch (NotFoundException e) {
      return Optional.empty();
    }
    Map<String, String> labels = c.getConfig().getLabels() == null ? Map.of() : c.getConfig().getLabels();
    if (!owner.equals(labels.get(OWNER))) {
      return Optional.empty();
    }
    InspectContainerResponse.ContainerState s = c.getState();
    boolean isRunning = Boolean.TRUE.equals(s.getRunning());
    long pid = s.getPidLong() == null ? 0 : s.getPidLong();
    int exit = s.getExitCodeLong() == null ? 0 : s.getExitCodeLong().intValue();
    String reason = "";
    if (!isRunning) {
      reason = Boolean.TRUE.equals(s.getOOMKilled()) ? "killed: out of memory"
          : s.getError() != null && !s.getError().isEmpty() ? s.getError()
          : "created".equals(s.getStatus()) ? "created, never started" : "exited with code " + exit;
    }
    String health = s.getHealth() == null ? "" : String.valueOf(s.getHealth().getStatus());
    return Optional.of(status(id, isRunning, pid, exit, parseInstant(s.getStartedAt()), labels, reason, WorkloadStatus.Health.parse(health)));
  }

  private static WorkloadStatus status(
      String id, boolean isRunning, long pid, int exitCode, Instant startedAt, Map<String, String> labels, String reason, WorkloadStatus.Health health) {
    return new WorkloadStatus(
        id,
        isRunning ? WorkloadStatus.State.RUNNING : WorkloadStatus.State.EXITED,
        isRunning && pid > 0 ? OptionalLong.of(pid) : OptionalLong.empty(),
        isRunning ? OptionalInt.empty() : OptionalInt.of(exitCode),
        startedAt,
        labels,
        PortBinding.decode(labels.get(PORTS)),
        reason,
        health);
  }

  private static Instant parseInstant(String text) {
    try {
      return text == null || text.isEmpty() || text.startsWith("0001-") ? null : Instant.parse(text);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  @Override
  public List<WorkloadStatus> list(Map<String, String> labels) {
    Map<String, String> filter = new LinkedHashMap<>(labels);
    filter.put(OWNER, owner);
    List<Container> containers = call("listing containers", () -> docker.listContainersCmd().withShowAll(true).withLabelFilter(filter).exec());
    List<WorkloadStatus> out = new ArrayList<>();
    for (Container c : containers) {
      Map<String, String> l = c.getLabels() == null ? Map.of() : c.getLabels();
      String id = l.get(ID);
      if (id == null) {
        continue;
      }
      boolean isRunning = "running".equals(c.getState());
      // The list says "Exited (3) 2 seconds ago"; the code is what a caller needs from it.
      int exit = 0;
      String status = c.getStatus() == null ? "" : c.getStatus();
      if (status.startsWith("Exited (")) {
        try {
          exit = Integer.parseInt(status.substring(8, status.indexOf(')')));
        } catch (RuntimeException ignored) {
          // unusual text: code unknown, reported as 0
        }
      }
      // The list gives no pid and only the creation time: close enough to a start for adoption; inspect() is exact.
      out.add(status(id, isRunning, 0, exit, c.getCreated() == null ? null : Instant.ofEpochSecond(c.getCreated()), l,
          isRunning ? "" : "exited with code " + exit, WorkloadStatus.Health.NONE));
    }
    return out;
  }

  @Override
  public List<String> logs(String id, int lines) {
    StringBuilder text = new StringBuilder();
    try {
      call("reading logs of " + id, () -> {
        try {
          return docker.logContainerCmd(containerName(id)).withStdOut(true).withStdErr(true).withTail(lines)
              .exec(new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame frame) {
                  text.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
                }
              })
              .awaitCompletion(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      });
    } catch (NotFoundException e) {
      return List.of();
    }
    List<String> out = new ArrayList<>(List.of(text.toString().split("\n", -1)));
    if (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
      out.remove(out.size() - 1);
    }
    return out;
  }

  @Override
  public Optional<WorkloadStats> stats(String id) {
    Optional<WorkloadStatus> status = inspect(id);
    if (status.isEmpty() || status.get().state() != WorkloadStatus.State.RUNNING) {
      return Optional.empty();
    }
    AtomicReference<Statistics> got = new AtomicReference<>();
    try {
      call("reading stats of " + id, () -> {
        try {
          return docker.statsCmd(containerName(id)).withNoStream(true).exec(new ResultCallback.Adapter<Statistics>() {
            @Override
            public void onNext(Statistics s) {
              got.compareAndSet(null, s);
            }
          }).awaitCompletion(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      });
    } catch (NotFoundException e) {
      return Optional.empty();
    }
    Statistics s = got.get();
    if (s == null) {
      return Optional.empty();
    }
    long cpu = s.getCpuStats() != null && s.getCpuStats().getCpuUsage() != null && s.getCpuStats().getCpuUsage().getTotalUsage() != null
        ? s.getCpuStats().getCpuUsage().getTotalUsage() : 0;
    long memory = s.getMemoryStats() != null && s.getMemoryStats().getUsage() != null ? s.getMemoryStats().getUsage() : 0;
    long rx = 0;
    long tx = 0;
    if (s.getNetworks() != null) {
      for (var n : s.getNetworks().values()) {
        rx += n.getRxBytes() == null ? 0 : n.getRxBytes();
        tx += n.getTxBytes() == null ? 0 : n.getTxBytes();
      }
    }
    return Optional.of(new WorkloadStats(cpu, memory, rx, tx));
  }

  @Override
  public int exec(String id, List<String> command, Duration timeout) {
    String execId;
    try {
      execId = call("exec in " + id, () -> docker.execCreateCmd(containerName(id)).withCmd(command.toArray(String[]::new)).exec()).getId();
      call("exec in " + id, () -> {
        try {
          return docker.execStartCmd(execId).withDetach(true).exec(new ResultCallback.Adapter<Frame>()).awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      });
    } catch (DockerException e) {
      throw new HiveException("docker cannot run " + command + " in " + id + ": " + message(e), e);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      var state = call("inspecting an exec", () -> docker.inspectExecCmd(execId).exec());
      if (!Boolean.TRUE.equals(state.isRunning())) {
        return state.getExitCodeLong() == null ? -1 : state.getExitCodeLong().intValue();
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new HiveException("interrupted", e);
      }
    }
    throw new HiveException(command + " in " + id + " did not finish within " + timeout.toMillis() + " ms");
  }

  @Override
  public void onExit(Consumer<WorkloadStatus> listener) {
    exitListeners.add(listener);
  }

  /** Whether a watch pass has listed the engine once, adopting what an earlier run left running. */
  private volatile boolean adopted;

  private void watch() {
    // After the first pass only this runtime starts containers (start() records them), so with
    // none running there is no exit to notice: an idle node leaves the engine alone, rather than
    // fifty idle nodes on one host listing it fifty times a second.
    if (adopted && running.isEmpty()) {
      return;
    }
    try {
      Map<String, WorkloadStatus> now = new HashMap<>();
      list(Map.of()).forEach(s -> now.put(s.id(), s));
      for (WorkloadStatus s : now.values()) {
        if (s.state() == WorkloadStatus.State.RUNNING) {
          running.putIfAbsent(s.id(), true);
        } else if (running.remove(s.id()) != null) {
          WorkloadStatus exited = inspect(s.id()).orElse(s);
          exitListeners.forEach(l -> l.accept(exited));
        }
      }
      running.keySet().retainAll(now.keySet());
      adopted = true;
    } catch (RuntimeException e) {
      log.debug("docker watch pass failed: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    watcher.shutdownNow();
    try {
      docker.close();
    } catch (java.io.IOException e) {
      log.debug("closing the docker client: {}", e.getMessage());
    }
  }
}
