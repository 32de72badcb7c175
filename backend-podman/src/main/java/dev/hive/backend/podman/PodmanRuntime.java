package dev.hive.backend.podman;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
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
import java.util.function.Consumer;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workloads as Podman containers, through the libpod REST API.
 *
 * <p>Each container is named {@code hive-<node>-<id>} (so several Hive nodes can share one Podman)
 * and labelled with the spec's labels plus {@code dev.hive.owner=<node>}, {@code dev.hive.id} and
 * {@code dev.hive.ports}; everything this runtime lists or inspects carries its owner label, which
 * is how a restarted agent finds its containers again. Without systemd Podman runs no health
 * checks of its own, so a watcher runs an image's HEALTHCHECK at its interval; the same watcher
 * notices exits.
 */
final class PodmanRuntime implements WorkloadRuntime {
  private static final Logger log = LoggerFactory.getLogger(PodmanRuntime.class);
  static final String OWNER = "dev.hive.owner";
  static final String ID = "dev.hive.id";
  static final String PORTS = "dev.hive.ports";
  /** Podman's words when the process it inspects has just gone; see {@link #inspect}. */
  private static final Pattern EXITING_RACE = Pattern.compile("/proc/\\d+/\\S+: no such (process|file or directory)");
  /** 20 x 10 ms: far longer than podman takes to record an exit it has seen. */
  private static final int EXITING_RACE_RETRIES = 20;

  private final LibpodClient client;
  private final String owner;
  private final String namePrefix;
  private final ScheduledExecutorService watcher;
  private final List<Consumer<WorkloadStatus>> exitListeners = new CopyOnWriteArrayList<>();
  /** Containers last seen running, so the watcher reports each exit once. */
  private final Map<String, Boolean> running = new ConcurrentHashMap<>();
  /** Container id -> when its image's HEALTHCHECK runs next (nanoTime), and every how often. */
  private final Map<String, long[]> healthSchedule = new ConcurrentHashMap<>();

  PodmanRuntime(LibpodClient client, String nodeId, Duration watchInterval) {
    this.client = client;
    this.owner = nodeId;
    this.namePrefix = "hive-" + nodeId.replaceAll("[^A-Za-z0-9_.-]", "").substring(0, Math.min(12, nodeId.length())) + "-";
    this.watcher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "hive-podman-watcher");
              t.setDaemon(true);
              return t;
            });
    long ms = watchInterval.toMillis();
    watcher.scheduleWithFixedDelay(this::watch, ms, ms, TimeUnit.MILLISECONDS);
  }

  @Override
  public String name() {
    return "podman";
  }

  @Override
  public RuntimeCapabilities capabilities() {
    return new RuntimeCapabilities(false, true, true, "CPU quota and memory limit on each container (podman, cgroupfs)");
  }

  private String containerName(String id) {
    return namePrefix + id;
  }

  @Override
  public WorkloadStatus start(WorkloadSpec spec) {
    if (spec.image() == null) {
      throw new HiveException("the podman runtime runs images; give an image (and optionally a command to run in it)");
    }
    String name = containerName(spec.id());
    Optional<WorkloadStatus> existing = inspect(spec.id());
    if (existing.isPresent()) {
      if (existing.get().state() == WorkloadStatus.State.RUNNING) {
        throw new HiveException("workload " + spec.id() + " is already running as container " + name);
      }
      remove(spec.id()); // an earlier run of the same workload: its container is replaced
    }
    ensureImage(spec.image());
    LibpodClient.Reply created = client.post(client.url("containers/create").build(), createBody(spec, name));
    if (!created.ok()) {
      throw new HiveException("podman cannot create a container for " + spec.id() + " from " + spec.image() + ": " + client.message(created));
    }
    LibpodClient.Reply started = client.post(client.url("containers/" + name + "/start").build(), null);
    if (!started.ok() && started.status() != 304) {
      String why = client.message(started);
      remove(spec.id()); // nothing is left behind
      throw new HiveException("podman cannot start " + spec.id() + " (" + spec.image() + "): " + why);
    }
    WorkloadStatus status = inspect(spec.id()).orElseThrow(() -> new HiveException("container " + name + " vanished right after it started"));
    // Watched even if it has exited already, so a quick exit is reported too.
    running.put(spec.id(), true);
    scheduleHealthcheck(name);
    return status;
  }

  private ObjectNode createBody(WorkloadSpec spec, String name) {
    ObjectNode body = client.json().createObjectNode();
    body.put("name", name);
    body.put("image", spec.image());
    // An init process forwards signals, so a container stops on SIGTERM like a process does.
    body.put("init", true);
    if (spec.command() != null) {
      body.putArray("entrypoint").add("/bin/sh").add("-c");
      body.putArray("command").add(spec.command());
    } else {
      if (spec.entrypoint() != null) {
        spec.entrypoint().forEach(body.putArray("entrypoint")::add);
      }
      if (spec.args() != null) {
        spec.args().forEach(body.putArray("command")::add);
      }
    }
    ObjectNode env = body.putObject("env");
    spec.env().forEach(env::put);
    ObjectNode labels = body.putObject("labels");
    spec.labels().forEach(labels::put);
    labels.put(OWNER, owner).put(ID, spec.id()).put(PORTS, PortBinding.encode(spec.ports()));
    if (!spec.ports().isEmpty()) {
      ArrayNode mappings = body.putArray("portmappings");
      for (PortBinding p : spec.ports()) {
        mappings.addObject().put("container_port", p.port()).put("host_port", p.hostPort()).put("protocol", "tcp");
      }
    }
    if (!spec.volumes().isEmpty()) {
      ArrayNode mounts = body.putArray("mounts");
      spec.volumes().forEach((host, path) -> mounts.addObject().put("type", "bind").put("source", host).put("destination", path).putArray("options").add("rbind"));
    }
    if (spec.cpus() > 0 || spec.memoryBytes() > 0) {
      ObjectNode limits = body.putObject("resource_limits");
      if (spec.cpus() > 0) {
        limits.putObject("cpu").put("period", 100_000).put("quota", Math.max(1_000, Math.round(spec.cpus() * 100_000)));
      }
      if (spec.memoryBytes() > 0) {
        limits.putObject("memory").put("limit", spec.memoryBytes());
      }
    }
    return body;
  }

  /** Uses a local image as it is; pulls an absent one, failing clearly when no registry answers. */
  private void ensureImage(String image) {
    LibpodClient.Reply exists = client.get(client.url("images/" + image + "/exists").build());
    if (exists.status() == 204) {
      return;
    }
    HttpUrl pull = client.url("images/pull").addQueryParameter("reference", image).addQueryParameter("quiet", "true").build();
    String error =
        client.stream(pull, "POST", null, (status, body) -> {
          String text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
          if (status / 100 != 2) {
            return client.message(new LibpodClient.Reply(status, text.getBytes(StandardCharsets.UTF_8)));
          }
          for (String line : text.split("\n")) {
            JsonNode node = line.isBlank() ? null : client.json().readTree(line);
            if (node != null && node.hasNonNull("error")) {
              return node.get("error").asText();
            }
          }
          return null;
        });
    if (error != null) {
      throw new HiveException("image " + image + " not found locally and no registry reachable (" + error.strip() + ")");
    }
  }

  @Override
  public void stop(String id, Duration grace) {
    long seconds = Math.max(1, (grace.toMillis() + 999) / 1000);
    HttpUrl url = client.url("containers/" + containerName(id) + "/stop").addQueryParameter("timeout", Long.toString(seconds)).build();
    LibpodClient.Reply reply = client.post(url, null);
    if (!reply.ok() && reply.status() != 304 && reply.status() != 404) {
      throw new HiveException("podman cannot stop " + id + ": " + client.message(reply));
    }
    running.remove(id);
  }

  @Override
  public void remove(String id) {
    String name = containerName(id);
    // Killed first: a forced removal would otherwise wait out the stop timeout of a container that ignores SIGTERM.
    client.post(client.url("containers/" + name + "/kill").addQueryParameter("signal", "KILL").build(), null);
    LibpodClient.Reply reply = client.delete(client.url("containers/" + name).addQueryParameter("force", "true").addQueryParameter("v", "true").build());
    if (!reply.ok() && reply.status() != 404) {
      throw new HiveException("podman cannot remove " + id + ": " + client.message(reply));
    }
    running.remove(id);
    healthSchedule.remove(name);
  }

  @Override
  public Optional<WorkloadStatus> inspect(String id) {
    HttpUrl url = client.url("containers/" + containerName(id) + "/json").build();
    LibpodClient.Reply reply = client.get(url);
    // Podman before 4.4 answers 500 "read /proc/N/cgroup: no such process" when the container's
    // process exits while it is being inspected (podman#16383). Asked again, it reports the exit.
    for (int attempt = 0; attempt < EXITING_RACE_RETRIES && isExitingRace(reply); attempt++) {
      sleep(10);
      reply = client.get(url);
    }
    if (reply.status() == 404) {
      return Optional.empty();
    }
    JsonNode c = client.parse(client.expectOk(reply, "inspecting " + id));
    JsonNode labels = c.path("Config").path("Labels");
    if (!owner.equals(labels.path(OWNER).asText())) {
      return Optional.empty();
    }
    JsonNode state = c.path("State");
    boolean isRunning = state.path("Running").asBoolean();
    JsonNode health = state.has("Health") ? state.path("Health") : state.path("Healthcheck");
    return Optional.of(status(id, isRunning, state.path("Pid").asLong(), state.path("ExitCode").asInt(), parseInstant(state.path("StartedAt").asText()),
        labels, exitReason(state), WorkloadStatus.Health.parse(health.path("Status").asText(""))));
  }

  private boolean isExitingRace(LibpodClient.Reply reply) {
    return reply.status() == 500 && EXITING_RACE.matcher(client.message(reply)).find();
  }

  private static String exitReason(JsonNode state) {
    if (state.path("Running").asBoolean()) {
      return "";
    }
    if (state.path("OOMKilled").asBoolean()) {
      return "killed: out of memory";
    }
    String error = state.path("Error").asText("");
    if (!error.isEmpty()) {
      return error;
    }
    return "created".equals(state.path("Status").asText()) ? "created, never started" : "exited with code " + state.path("ExitCode").asInt();
  }

  private static WorkloadStatus status(
      String id, boolean isRunning, long pid, int exitCode, Instant startedAt, JsonNode labels, String reason, WorkloadStatus.Health health) {
    Map<String, String> labelMap = new LinkedHashMap<>();
    labels.fields().forEachRemaining(e -> labelMap.put(e.getKey(), e.getValue().asText()));
    List<PortBinding> ports = PortBinding.decode(labelMap.get(PORTS));
    return new WorkloadStatus(
        id,
        isRunning ? WorkloadStatus.State.RUNNING : WorkloadStatus.State.EXITED,
        isRunning && pid > 0 ? OptionalLong.of(pid) : OptionalLong.empty(),
        isRunning ? OptionalInt.empty() : OptionalInt.of(exitCode),
        startedAt,
        labelMap,
        ports,
        reason,
        health);
  }

  private static Instant parseInstant(String text) {
    try {
      return text == null || text.isEmpty() || text.startsWith("0001-") ? null : Instant.parse(text);
    } catch (DateTimeParseException e) {
      try {
        return java.time.OffsetDateTime.parse(text).toInstant();
      } catch (DateTimeParseException again) {
        return null;
      }
    }
  }

  @Override
  public List<WorkloadStatus> list(Map<String, String> labels) {
    ObjectNode filters = client.json().createObjectNode();
    ArrayNode wanted = filters.putArray("label").add(OWNER + "=" + owner);
    labels.forEach((k, v) -> wanted.add(k + "=" + v));
    HttpUrl url = client.url("containers/json").addQueryParameter("all", "true").addQueryParameter("filters", filters.toString()).build();
    JsonNode containers = client.parse(client.expectOk(client.get(url), "listing containers"));
    List<WorkloadStatus> out = new ArrayList<>();
    for (JsonNode c : containers) {
      JsonNode l = c.path("Labels");
      String id = l.path(ID).asText("");
      if (id.isEmpty()) {
        continue;
      }
      boolean isRunning = "running".equals(c.path("State").asText());
      long startedAt = c.path("StartedAt").asLong();
      String reason = isRunning ? "" : "exited with code " + c.path("ExitCode").asInt();
      out.add(status(id, isRunning, c.path("Pid").asLong(), c.path("ExitCode").asInt(), startedAt > 0 ? Instant.ofEpochSecond(startedAt) : null, l, reason,
          WorkloadStatus.Health.NONE));
    }
    return out;
  }

  @Override
  public List<String> logs(String id, int lines) {
    HttpUrl url = client.url("containers/" + containerName(id) + "/logs")
        .addQueryParameter("stdout", "true").addQueryParameter("stderr", "true").addQueryParameter("tail", Integer.toString(lines)).build();
    return client.stream(url, "GET", null, (status, body) -> status == 200 ? LibpodClient.demultiplex(body) : List.of());
  }

  @Override
  public Optional<WorkloadStats> stats(String id) {
    HttpUrl url = client.url("containers/stats").addQueryParameter("containers", containerName(id)).addQueryParameter("stream", "false").build();
    LibpodClient.Reply reply = client.get(url);
    if (!reply.ok()) {
      return Optional.empty();
    }
    JsonNode stats = client.parse(reply).path("Stats");
    if (!stats.isArray() || stats.isEmpty()) {
      return Optional.empty();
    }
    JsonNode s = stats.get(0);
    return Optional.of(new WorkloadStats(s.path("CPUNano").asLong(), s.path("MemUsage").asLong(), s.path("NetInput").asLong(), s.path("NetOutput").asLong()));
  }

  @Override
  public int exec(String id, List<String> command, Duration timeout) {
    ObjectNode body = client.json().createObjectNode();
    command.forEach(body.putArray("Cmd")::add);
    body.put("AttachStdout", true).put("AttachStderr", true);
    LibpodClient.Reply created = client.post(client.url("containers/" + containerName(id) + "/exec").build(), body);
    if (!created.ok()) {
      throw new HiveException("podman cannot run " + command + " in " + id + ": " + client.message(created));
    }
    String execId = client.parse(created).path("Id").asText();
    // Attached: Podman 4.3 never marks a detached session as ended; the attached stream ends when the command does.
    byte[] start = client.json().createObjectNode().put("Detach", false).toString().getBytes(StandardCharsets.UTF_8);
    client.stream(client.url("exec/" + execId + "/start").build(), "POST", start, (status, out) -> out.readAllBytes());
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode state = client.parse(client.expectOk(client.get(client.url("exec/" + execId + "/json").build()), "inspecting an exec"));
      if (!state.path("Running").asBoolean()) {
        return state.path("ExitCode").asInt();
      }
      sleep(20);
    }
    throw new HiveException(command + " in " + id + " did not finish within " + timeout.toMillis() + " ms");
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HiveException("interrupted", e);
    }
  }

  @Override
  public void onExit(Consumer<WorkloadStatus> listener) {
    exitListeners.add(listener);
  }

  /** Reads the container's HEALTHCHECK (from its image or spec), to run it at its interval. */
  private void scheduleHealthcheck(String name) {
    LibpodClient.Reply reply = client.get(client.url("containers/" + name + "/json").build());
    if (!reply.ok()) {
      return;
    }
    JsonNode check = client.parse(reply).path("Config").path("Healthcheck");
    JsonNode test = check.path("Test");
    if (!test.isArray() || test.isEmpty() || "NONE".equals(test.get(0).asText())) {
      return;
    }
    long interval = check.path("Interval").asLong(0);
    long every = interval > 0 ? interval : TimeUnit.SECONDS.toNanos(30);
    healthSchedule.put(name, new long[] {System.nanoTime(), every});
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
          if (running.putIfAbsent(s.id(), true) == null) {
            scheduleHealthcheck(containerName(s.id())); // adopted: its check runs too
          }
        } else if (running.remove(s.id()) != null) {
          healthSchedule.remove(containerName(s.id()));
          WorkloadStatus exited = inspect(s.id()).orElse(s);
          exitListeners.forEach(l -> l.accept(exited));
        }
      }
      running.keySet().retainAll(now.keySet());
      adopted = true;
      long t = System.nanoTime();
      for (Map.Entry<String, long[]> e : healthSchedule.entrySet()) {
        if (t - e.getValue()[0] >= 0) {
          e.getValue()[0] = t + e.getValue()[1];
          client.get(client.url("containers/" + e.getKey() + "/healthcheck").build());
        }
      }
    } catch (RuntimeException e) {
      log.debug("podman watch pass failed: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    watcher.shutdownNow();
    client.close();
  }
}
