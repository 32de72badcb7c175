package dev.hive.core.reconcile;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.AppSpec;
import dev.hive.api.HealthCheck;
import dev.hive.api.HiveEvent;
import dev.hive.api.HiveException;
import dev.hive.api.InstanceState;
import dev.hive.api.PortSpec;
import dev.hive.api.RestartPolicy;
import dev.hive.core.state.AppRecord;
import dev.hive.core.state.ClusterState;
import dev.hive.spi.PortBinding;
import dev.hive.spi.Store;
import dev.hive.spi.StoreEntry;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.WorkloadStatus;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's reconciler: compares the slots the cluster state assigns to this node with what its
 * runtimes run, and closes the gap -- starts, health-checks, restarts with exponential backoff,
 * replaces instances of an older generation one at a time, stops what is no longer wanted. Every
 * decision reads time from the injected clock, and {@link #tick()} is driven from outside, so
 * tests run it in virtual time.
 *
 * <p>After an agent restart it reads its records, adopts the workloads that still run (by id, and
 * by the {@code dev.hive.*} labels for any it has no record of) and starts none twice.
 */
public final class Reconciler {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  static final String NAMESPACE = "instances";
  static final long STARTING_CHECK_MILLIS = 250;

  /** Tunables, with the defaults a daemon uses. */
  public record Settings(Duration stopGrace, Duration backoffBase, Duration backoffMax, Duration startupGrace, Duration drainDelay, Duration drainTimeout) {
    public static final Settings DEFAULTS = new Settings(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(30),
        Duration.ofSeconds(2), Duration.ofSeconds(30));

    /** The same without draining: an instance leaving a service stops at once. */
    public Settings(Duration stopGrace, Duration backoffBase, Duration backoffMax, Duration startupGrace) {
      this(stopGrace, backoffBase, backoffMax, startupGrace, Duration.ZERO, Duration.ZERO);
    }
  }

  private final String clusterName;
  private final String nodeId;
  private final Supplier<ClusterState> desired;
  private final Function<String, WorkloadRuntime> runtimes;
  private final Store store;
  private final HealthProber prober;
  private final PortAllocator ports;
  private final Clock clock;
  private final Consumer<HiveEvent> events;
  private final Settings settings;
  private final java.nio.file.Path volumes;
  private final Consumer<dev.hive.core.state.Command> reports;
  private final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /** By slot key; the only place a slot's instance lives on this node. */
  private final Map<String, InstanceRecord> records = new TreeMap<>();
  /** Runtimes that did not answer in the current pass. */
  private final Set<String> unknownRuntimes = new HashSet<>();
  private final java.util.concurrent.atomic.AtomicLong skippedRuntimePasses = new java.util.concurrent.atomic.AtomicLong();
  private final Map<String, byte[]> persisted = new HashMap<>();
  private boolean orphansChecked;
  private volatile java.util.function.ToIntFunction<String> openConnections = id -> 0;

  public Reconciler(
      String clusterName,
      String nodeId,
      Supplier<ClusterState> desired,
      Function<String, WorkloadRuntime> runtimes,
      Store store,
      HealthProber prober,
      PortAllocator ports,
      Clock clock,
      Consumer<HiveEvent> events,
      Settings settings,
      java.nio.file.Path volumes,
      Consumer<dev.hive.core.state.Command> reports) {
    this.volumes = volumes;
    this.reports = reports;
    this.clusterName = clusterName;
    this.nodeId = nodeId;
    this.desired = desired;
    this.runtimes = runtimes;
    this.store = store;
    this.prober = prober;
    this.ports = ports;
    this.clock = clock;
    this.events = events;
    this.settings = settings;
    recoverRecords();
  }

  private void recoverRecords() {
    for (StoreEntry entry : store.list(NAMESPACE)) {
      try {
        InstanceRecord r = json.readValue(entry.value(), InstanceRecord.class);
        records.put(r.slotKey(), r);
        persisted.put(r.slotKey(), entry.value());
      } catch (IOException e) {
        log.warn("ignoring unreadable instance record {}: {}", entry.key(), e.getMessage());
      }
    }
    for (InstanceRecord r : records.values()) {
      Optional<WorkloadStatus> status;
      try {
        status = inspect(r);
      } catch (RuntimeUnknown e) {
        continue;
      }
      if (status.isPresent() && status.get().state() == WorkloadStatus.State.RUNNING) {
        if (!r.state.isRunning()) {
          // A start that reached the runtime after the last record of it (pending, or failed
          // before a retry): the agent before this one stopped before it wrote the start down.
          markStarted(r, status.get(), status.get().startedAt().map(Instant::toEpochMilli).orElse(clock.millis()));
        }
        r.pid = status.get().pid().isPresent() ? status.get().pid().getAsLong() : null;
        // Health is checked afresh; until then it counts as starting.
        if (r.state != InstanceState.RUNNING) {
          r.state = InstanceState.STARTING;
        }
        r.reason = "adopted after an agent restart";
        emit(HiveEvent.Type.INSTANCE_ADOPTED, r, "adopted " + r.id + (r.pid != null ? " (pid " + r.pid + ")" : ""));
      }
    }
  }

  /**
   * Tells the reconciler how many proxied connections an instance still serves: a draining
   * instance is stopped once they end (or the drain timeout passes).
   */
  public void countConnectionsWith(java.util.function.ToIntFunction<String> counter) {
    this.openConnections = counter;
  }

  /** Returns copies of the instances this node runs, by slot. */
  public synchronized List<InstanceRecord> instances() {
    return records.values().stream().map(InstanceRecord::copy).toList();
  }

  /** Returns the last {@code lines} lines of the instance's output, or empty if it is not here. */
  public List<String> logs(String instanceId, int lines) {
    InstanceRecord r;
    synchronized (this) {
      r = records.values().stream().filter(x -> x.id.equals(instanceId)).findFirst().orElse(null);
    }
    if (r == null) {
      return List.of();
    }
    return runtimes.apply(r.runtime).logs(instanceId, lines);
  }

  /** Brings what runs closer to what is desired. Call it periodically and whenever something changed. */
  public synchronized void tick() {
    ClusterState state = desired.get();
    long now = clock.millis();
    unknownRuntimes.clear();
    Map<String, AppRecord> wanted = new TreeMap<>();
    for (AppRecord app : state.apps().values()) {
      app.slots().forEach(
          (ordinal, slot) -> {
            if (slot.node().equals(nodeId)) {
              wanted.put(InstanceRecord.slotKey(app.name(), ordinal), app);
            }
          });
    }
    if (!orphansChecked) {
      adoptOrRemoveOrphans(wanted);
      orphansChecked = true;
    }
    for (InstanceRecord r : new ArrayList<>(records.values())) {
      if (!wanted.containsKey(r.slotKey())) {
        if (draining(r, state.apps().get(r.app), now)) {
          continue;
        }
        if (!retire(r, "its slot is no longer assigned to this node (scaled down, deleted or moved)")) {
          continue;
        }
        records.remove(r.slotKey());
        if (!state.apps().containsKey(r.app)) {
          deleteVolume(r.app, r.ordinal);
        }
      } else {
        AppRecord app = wanted.get(r.slotKey());
        if (r.generation < slotGeneration(app, r.ordinal)) {
          // A step of a rolling restart: the leader raised this slot's generation.
          if (retire(r, "replaced by a restart of the app")) {
            records.remove(r.slotKey());
          }
        }
      }
    }
    wanted.forEach(
        (slotKey, app) -> {
          if (!records.containsKey(slotKey)) {
            int ordinal = Integer.parseInt(slotKey.substring(slotKey.lastIndexOf('/') + 1));
            records.put(slotKey, newRecord(app, ordinal));
          }
        });
    for (InstanceRecord r : records.values()) {
      AppRecord app = wanted.get(r.slotKey());
      if (app == null || unknownRuntimes.contains(r.runtime)) {
        continue;
      }
      r.drainingSinceMillis = null;
      try {
        drive(r, app, now);
      } catch (RuntimeUnknown e) {
        // Left alone: a replacement started now could run beside the original once the runtime answers.
      } catch (RuntimeException e) {
        log.warn("reconciling {} failed: {}", r.id, e.getMessage(), e);
        setState(r, InstanceState.FAILED, e.getMessage());
        scheduleRestart(r, app.spec(), true, now);
      }
    }
    persist();
    report(state, wanted);
  }

  private static int slotGeneration(AppRecord app, int ordinal) {
    dev.hive.core.state.Slot slot = app.slots().get(ordinal);
    return slot == null ? app.generation() : slot.generation();
  }

  /**
   * Tells the cluster which of this node's slots are ready, where that differs from what the state
   * says, and gives back slots that failed beyond their restart limit here.
   */
  private void report(ClusterState state, Map<String, AppRecord> wanted) {
    Map<String, Integer> changed = new TreeMap<>();
    for (Map.Entry<String, AppRecord> e : wanted.entrySet()) {
      InstanceRecord r = records.get(e.getKey());
      dev.hive.core.state.Slot slot = e.getValue().slots().get(r.ordinal);
      boolean ready = isReady(r, e.getValue().spec()) && r.generation >= slot.generation();
      if (ready != slot.ready()) {
        changed.put(e.getKey(), ready ? r.generation : -1);
      }
      if (r.state == InstanceState.FAILED && r.consecutiveFailures >= e.getValue().spec().restartLimit() && !r.released) {
        r.released = true;
        log.info("{} failed {} times in a row here: its slot goes to another node", r.id, r.consecutiveFailures);
        reports.accept(new dev.hive.core.state.Command.UnassignSlots(r.app, Map.of(r.ordinal, nodeId), true));
      }
    }
    if (!changed.isEmpty()) {
      reports.accept(new dev.hive.core.state.Command.ReportReady(nodeId, changed));
    }
  }

  private InstanceRecord newRecord(AppRecord app, int ordinal) {
    InstanceRecord r = new InstanceRecord();
    r.app = app.name();
    r.ordinal = ordinal;
    r.generation = slotGeneration(app, ordinal);
    r.node = nodeId;
    r.runtime = app.spec().runtime();
    // A stateful instance is its ordinal (db-1), wherever it runs; others get a fresh id each time.
    r.id = app.spec().stateful() ? app.spec().ordinalName(ordinal)
        : app.name() + "-" + ordinal + "-" + String.format("%06x", ThreadLocalRandom.current().nextInt(1 << 24));
    r.state = InstanceState.PENDING;
    r.nextStartAtMillis = clock.millis();
    emit(HiveEvent.Type.INSTANCE_STATE_CHANGED, r, "created for slot " + r.slotKey());
    return r;
  }

  /** Workloads labelled as this node's that no record knows: adopt them into a free slot, or remove them. */
  private void adoptOrRemoveOrphans(Map<String, AppRecord> wanted) {
    Set<String> known = new HashSet<>();
    records.values().forEach(r -> known.add(r.id));
    Set<String> runtimeNames = new HashSet<>();
    wanted.values().forEach(a -> runtimeNames.add(a.spec().runtime()));
    records.values().forEach(r -> runtimeNames.add(r.runtime));
    for (String name : runtimeNames) {
      WorkloadRuntime runtime;
      try {
        runtime = runtimes.apply(name);
      } catch (HiveException e) {
        continue;
      }
      for (WorkloadStatus w : runtime.list(Map.of("dev.hive.cluster", clusterName, "dev.hive.node", nodeId))) {
        if (known.contains(w.id())) {
          continue;
        }
        String slot = w.labels().get("dev.hive.slot");
        AppRecord app = slot == null ? null : wanted.get(slot);
        if (app != null && !records.containsKey(slot) && w.state() == WorkloadStatus.State.RUNNING) {
          InstanceRecord r = newRecord(app, Integer.parseInt(slot.substring(slot.lastIndexOf('/') + 1)));
          r.id = w.id();
          r.state = InstanceState.STARTING;
          r.everStarted = true;
          r.pid = w.pid().isPresent() ? w.pid().getAsLong() : null;
          r.startedAtMillis = w.startedAt().map(Instant::toEpochMilli).orElse(clock.millis());
          w.ports().forEach(p -> r.hostPorts.put(p.name(), p.hostPort()));
          r.generation = parseInt(w.labels().get("dev.hive.generation"), app.generation());
          records.put(slot, r);
          emit(HiveEvent.Type.INSTANCE_ADOPTED, r, "adopted unrecorded workload " + w.id());
        } else {
          log.info("removing workload {}: no slot of this node wants it", w.id());
          runtime.remove(w.id());
        }
      }
    }
  }

  private static int parseInt(String s, int fallback) {
    try {
      return s == null ? fallback : Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  private static boolean isReady(InstanceRecord r, AppSpec spec) {
    return r.state == InstanceState.HEALTHY || (spec.healthCheck() == null && r.state == InstanceState.RUNNING);
  }

  /** Returns true when the instance is healthy in the sense users see. */
  public static boolean healthy(InstanceRecord r, AppSpec spec) {
    return spec != null && isReady(r, spec) && r.drainingSinceMillis == null;
  }

  /**
   * Keeps an instance of a service running for a while after its slot went away (scaled down or
   * moved): out of the endpoints at once, so proxies stop sending it new connections, then stopped
   * once every node has had time to learn that and its open connections have ended.
   *
   * @return true while it drains
   */
  private boolean draining(InstanceRecord r, AppRecord app, long now) {
    if (app == null || app.spec().service() == null || settings.drainDelay().isZero() || !r.state.isRunning()) {
      return false;
    }
    if (r.drainingSinceMillis == null) {
      if (!healthy(r, app.spec())) {
        return false;
      }
      r.drainingSinceMillis = now;
      r.reason = "draining: out of service '" + app.spec().service() + "', stopping once its connections end";
      emit(HiveEvent.Type.INSTANCE_STATE_CHANGED, r, r.reason);
      return true;
    }
    long elapsed = now - r.drainingSinceMillis;
    if (elapsed < settings.drainDelay().toMillis()) {
      return true;
    }
    return elapsed < settings.drainTimeout().toMillis() && openConnections.applyAsInt(r.id) > 0;
  }

  /**
   * Stops and removes an instance and forgets it; returns false, keeping it, when its runtime
   * does not answer (forgotten, a workload that still runs would never be stopped).
   */
  private boolean retire(InstanceRecord r, String why) {
    if (unknownRuntimes.contains(r.runtime)) {
      return false;
    }
    try {
      WorkloadRuntime runtime = runtimes.apply(r.runtime);
      runtime.stop(r.id, settings.stopGrace());
      runtime.remove(r.id);
    } catch (HiveException e) {
      unknown(r.runtime, "cannot stop " + r.id + ": " + e.getMessage());
      return false;
    }
    store.delete(NAMESPACE, r.slotKey());
    persisted.remove(r.slotKey());
    setState(r, InstanceState.STOPPED, why);
    return true;
  }

  private void drive(InstanceRecord r, AppRecord app, long now) {
    AppSpec spec = app.spec();
    switch (r.state) {
      case PENDING, STOPPED, FAILED -> {
        if (r.nextStartAtMillis != null && now >= r.nextStartAtMillis && mayStart(r, app)) {
          start(r, spec, now);
        }
      }
      default -> {
        Optional<WorkloadStatus> status = inspect(r);
        if (status.isEmpty() || status.get().state() == WorkloadStatus.State.EXITED) {
          exited(r, spec, status, now);
        } else {
          checkHealth(r, spec, status.get(), now);
        }
      }
    }
  }

  /** A stateful ordinal starts for the first time only once every lower ordinal is ready. */
  private static boolean mayStart(InstanceRecord r, AppRecord app) {
    if (!app.spec().stateful() || r.everStarted) {
      return true;
    }
    for (Map.Entry<Integer, dev.hive.core.state.Slot> e : app.slots().headMap(r.ordinal).entrySet()) {
      if (!e.getValue().ready()) {
        if (!r.reason.startsWith("waiting")) {
          r.reason = "waiting for " + app.spec().ordinalName(e.getKey()) + " to be ready (ordered start)";
        }
        return false;
      }
    }
    return true;
  }

  private java.nio.file.Path volumeOf(String app, int ordinal) {
    return volumes.resolve(app + "-" + ordinal);
  }

  private void deleteVolume(String app, int ordinal) {
    java.nio.file.Path dir = volumeOf(app, ordinal);
    if (!java.nio.file.Files.exists(dir)) {
      return;
    }
    try (java.util.stream.Stream<java.nio.file.Path> walk = java.nio.file.Files.walk(dir)) {
      for (java.nio.file.Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        java.nio.file.Files.deleteIfExists(p);
      }
      log.info("deleted the volume {} of deleted app {}", dir, app);
    } catch (IOException e) {
      log.warn("cannot delete the volume {}: {}", dir, e.getMessage());
    }
  }

  /**
   * Returns what the runtime says of the instance: empty when it answered that there is no such
   * workload.
   *
   * @throws RuntimeUnknown when the runtime did not answer: not knowing is not "gone"
   */
  private Optional<WorkloadStatus> inspect(InstanceRecord r) {
    try {
      return runtimes.apply(r.runtime).inspect(r.id);
    } catch (HiveException e) {
      throw unknown(r.runtime, "cannot inspect " + r.id + ": " + e.getMessage());
    }
  }

  private RuntimeUnknown unknown(String runtime, String why) {
    if (unknownRuntimes.add(runtime)) {
      skippedRuntimePasses.incrementAndGet();
      log.warn("runtime {} did not answer; this pass leaves its workloads alone: {}", runtime, why);
    }
    return new RuntimeUnknown();
  }

  /** A runtime did not answer: its workloads are left as they are until a pass in which it does. */
  private static final class RuntimeUnknown extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RuntimeUnknown() {
      super(null, null, false, false);
    }
  }

  /**
   * Returns how many times a pass left a runtime's workloads alone because the runtime did not
   * answer (counted once per runtime and pass).
   */
  public long skippedRuntimePasses() {
    return skippedRuntimePasses.get();
  }

  private void start(InstanceRecord r, AppSpec spec, long now) {
    WorkloadRuntime runtime = runtimes.apply(r.runtime);
    assignHostPorts(r, spec);
    WorkloadSpec.Builder w = WorkloadSpec.builder(r.id);
    if (spec.command() != null) {
      w.command(spec.command());
    }
    if (spec.image() != null) {
      w.image(spec.image());
    }
    if (spec.entrypoint() != null) {
      w.entrypoint(spec.entrypoint());
    }
    if (spec.args() != null) {
      w.args(spec.args());
    }
    w.env(spec.env())
        .env("HIVE_APP", spec.name())
        .env("HIVE_INSTANCE", r.id)
        .env("HIVE_ORDINAL", Integer.toString(r.ordinal))
        .env("HIVE_NODE", nodeId)
        .label("dev.hive.cluster", clusterName)
        .label("dev.hive.app", spec.name())
        .label("dev.hive.slot", r.slotKey())
        .label("dev.hive.node", nodeId)
        .label("dev.hive.generation", Integer.toString(r.generation))
        .cpus(spec.cpus())
        .memoryBytes(spec.memoryBytes());
    for (PortSpec p : spec.ports()) {
      w.port(new PortBinding(p.name(), p.port(), r.hostPorts.get(p.name())));
    }
    if (spec.stateful()) {
      // Kept across restarts on this node; a slot that moves starts empty on its new node.
      java.nio.file.Path volume = volumeOf(spec.name(), r.ordinal);
      try {
        java.nio.file.Files.createDirectories(volume);
      } catch (IOException e) {
        throw new HiveException("cannot create the volume " + volume + ": " + e.getMessage(), e);
      }
      w.env("HIVE_VOLUME", volume.toString()).volume(volume.toString(), "/data");
    }
    boolean restart = r.everStarted;
    try {
      WorkloadStatus status = runtime.start(w.build());
      markStarted(r, status, now);
      if (restart) {
        r.restarts++;
        emit(HiveEvent.Type.INSTANCE_RESTARTED, r, "restart " + r.restarts + (r.pid != null ? ", pid " + r.pid : ""));
      }
      setState(r, spec.healthCheck() != null ? InstanceState.STARTING : InstanceState.RUNNING, r.pid != null ? "started as pid " + r.pid : "started");
    } catch (HiveException e) {
      r.everStarted |= restart;
      if (restart) {
        r.restarts++;
      }
      setState(r, InstanceState.FAILED, "cannot start: " + e.getMessage());
      scheduleRestart(r, spec, true, now);
    }
  }

  /** Notes that the instance's workload started at {@code startedAt}: its health is checked afresh. */
  private static void markStarted(InstanceRecord r, WorkloadStatus status, long startedAt) {
    r.everStarted = true;
    r.pid = status.pid().isPresent() ? status.pid().getAsLong() : null;
    r.startedAtMillis = startedAt;
    r.exitCode = null;
    r.nextStartAtMillis = null;
    r.healthPasses = 0;
    r.healthFailures = 0;
    r.nextCheckAtMillis = startedAt;
    r.probe = null;
  }

  private void assignHostPorts(InstanceRecord r, AppSpec spec) {
    Set<Integer> taken = new HashSet<>();
    records.values().stream().filter(o -> o != r).forEach(o -> taken.addAll(o.hostPorts.values()));
    Map<String, Integer> assigned = new LinkedHashMap<>();
    for (PortSpec p : spec.ports()) {
      if (p.hostPort() > 0) {
        assigned.put(p.name(), p.hostPort());
        taken.add(p.hostPort());
        continue;
      }
      Integer previous = r.hostPorts.get(p.name());
      // Keep an instance's port across restarts when it is still free, so its address is stable.
      if (previous != null && !taken.contains(previous) && ports.isFree(previous)) {
        assigned.put(p.name(), previous);
      } else {
        int port = ports.allocate(taken);
        assigned.put(p.name(), port);
      }
      taken.add(assigned.get(p.name()));
    }
    r.hostPorts = assigned;
  }

  private void exited(InstanceRecord r, AppSpec spec, Optional<WorkloadStatus> status, long now) {
    boolean failed = status.isEmpty() || status.get().exitCode().isEmpty() || status.get().exitCode().getAsInt() != 0;
    r.exitCode = status.flatMap(s -> s.exitCode().isPresent() ? Optional.of(s.exitCode().getAsInt()) : Optional.empty()).orElse(null);
    r.pid = null;
    String reason = status.map(WorkloadStatus::reason).filter(s -> !s.isEmpty()).orElse(status.isEmpty() ? "the workload vanished from runtime " + r.runtime : "exited");
    setState(r, failed ? InstanceState.FAILED : InstanceState.STOPPED, reason);
    scheduleRestart(r, spec, failed, now);
  }

  private void scheduleRestart(InstanceRecord r, AppSpec spec, boolean failed, long now) {
    boolean restart = spec.restartPolicy() == RestartPolicy.ALWAYS || (spec.restartPolicy() == RestartPolicy.ON_FAILURE && failed);
    if (!restart) {
      r.nextStartAtMillis = null;
      return;
    }
    r.consecutiveFailures++;
    long delay = settings.backoffBase().toMillis() << Math.min(20, r.consecutiveFailures - 1);
    delay = Math.min(delay, settings.backoffMax().toMillis());
    r.nextStartAtMillis = now + delay;
  }

  private void checkHealth(InstanceRecord r, AppSpec spec, WorkloadStatus status, long now) {
    HealthCheck check = spec.healthCheck();
    boolean upLongEnough = r.startedAtMillis != null && now - r.startedAtMillis >= settings.backoffMax().toMillis();
    if (check == null && status.health() != WorkloadStatus.Health.NONE) {
      // No check of Hive's: the image's own HEALTHCHECK, run by the container runtime, decides.
      switch (status.health()) {
        case HEALTHY -> {
          if (r.state != InstanceState.HEALTHY) {
            setState(r, InstanceState.HEALTHY, "the image's HEALTHCHECK passes");
          }
          if (upLongEnough) {
            r.consecutiveFailures = 0;
          }
        }
        case UNHEALTHY -> {
          setState(r, InstanceState.UNHEALTHY, "the image's HEALTHCHECK fails");
          runtimes.apply(r.runtime).stop(r.id, settings.stopGrace());
          r.pid = null;
          setState(r, InstanceState.FAILED, "stopped after failing the image's HEALTHCHECK");
          scheduleRestart(r, spec, true, now);
        }
        default -> {
          if (r.state != InstanceState.STARTING) {
            setState(r, InstanceState.STARTING, "waiting for the image's HEALTHCHECK");
          }
        }
      }
      return;
    }
    if (check == null) {
      if (r.state != InstanceState.RUNNING) {
        setState(r, InstanceState.RUNNING, "running");
      }
      if (upLongEnough) {
        r.consecutiveFailures = 0;
      }
      return;
    }
    if (r.probe == null && now >= r.nextCheckAtMillis) {
      // Until its first pass, a starting instance is checked often, so a replacement turns healthy soon after it listens.
      long every = r.state == InstanceState.STARTING ? Math.min(check.interval().toMillis(), STARTING_CHECK_MILLIS) : check.interval().toMillis();
      r.nextCheckAtMillis = now + every;
      WorkloadRuntime runtime = runtimes.apply(r.runtime);
      r.probe = prober.probe(r.id, check, Map.copyOf(r.hostPorts), spec.image() != null ? runtime : null);
    }
    if (r.probe != null && r.probe.isDone()) {
      HealthProber.Result result = r.probe.getNow(new HealthProber.Result(false, "no result"));
      r.probe = null;
      r.lastProbeDetail = result.detail();
      if (result.passed()) {
        r.healthPasses++;
        r.healthFailures = 0;
      } else {
        r.healthFailures++;
        r.healthPasses = 0;
      }
      if (r.healthPasses >= check.healthyThreshold() && r.state != InstanceState.HEALTHY) {
        setState(r, InstanceState.HEALTHY, "health check passed: " + result.detail());
        r.consecutiveFailures = 0;
      }
      boolean inStartupGrace = r.state == InstanceState.STARTING && r.startedAtMillis != null && now - r.startedAtMillis < settings.startupGrace().toMillis();
      if (r.healthFailures >= check.unhealthyThreshold() && !inStartupGrace) {
        setState(r, InstanceState.UNHEALTHY, "health check failed " + r.healthFailures + " times: " + result.detail());
        WorkloadRuntime runtime = runtimes.apply(r.runtime);
        runtime.stop(r.id, settings.stopGrace());
        r.pid = null;
        setState(r, InstanceState.FAILED, "stopped after failing its health check: " + result.detail());
        scheduleRestart(r, spec, true, now);
        return;
      }
    }
  }

  private void setState(InstanceRecord r, InstanceState state, String reason) {
    boolean changed = r.state != state;
    r.state = state;
    r.reason = reason == null ? "" : reason;
    if (changed) {
      emit(HiveEvent.Type.INSTANCE_STATE_CHANGED, r, r.reason);
    }
  }

  private void emit(HiveEvent.Type type, InstanceRecord r, String message) {
    events.accept(new HiveEvent(type, clock.instant(), r.app, r.id, r.state, message));
  }

  private void persist() {
    for (InstanceRecord r : records.values()) {
      try {
        byte[] bytes = json.writeValueAsBytes(r);
        if (!Arrays.equals(bytes, persisted.get(r.slotKey()))) {
          store.put(NAMESPACE, r.slotKey(), bytes);
          persisted.put(r.slotKey(), bytes);
        }
      } catch (IOException e) {
        throw new HiveException("cannot record instance " + r.id + ": " + e.getMessage(), e);
      }
    }
  }

  /** Stops every instance this node runs (used when the cluster is deleted, not on close). */
  public synchronized void stopAll() {
    for (InstanceRecord r : new ArrayList<>(records.values())) {
      retire(r, "stopped");
    }
    records.clear();
  }
}
