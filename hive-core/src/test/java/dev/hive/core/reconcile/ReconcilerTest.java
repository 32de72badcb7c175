package dev.hive.core.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.AppSpec;
import dev.hive.api.HealthCheck;
import dev.hive.api.HiveEvent;
import dev.hive.api.InstanceState;
import dev.hive.api.PortSpec;
import dev.hive.api.RestartPolicy;
import dev.hive.core.sim.VirtualClock;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import dev.hive.core.state.StateMachine;
import dev.hive.core.storage.memory.InMemoryStore;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.WorkloadStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reconciler's decisions, in virtual time: the clock moves only when the test moves it. */
class ReconcilerTest {
  static final NodeRecord NODE = new NodeRecord("n1", "host", "127.0.0.1", 2, 1 << 30, Map.of(), List.of("process"), 0);
  static final Reconciler.Settings SETTINGS = new Reconciler.Settings(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(8), Duration.ofSeconds(10));

  final VirtualClock clock = new VirtualClock(Instant.parse("2026-01-01T00:00:00Z"));
  final FakeRuntime runtime = new FakeRuntime();
  final InMemoryStore store = new InMemoryStore();
  final List<HiveEvent> events = new ArrayList<>();
  final Map<String, Boolean> healthOf = new HashMap<>();
  final AtomicInteger nextPort = new AtomicInteger(20000);
  ClusterState state = ClusterState.EMPTY;
  @org.junit.jupiter.api.io.TempDir java.nio.file.Path volumes;
  Reconciler reconciler;

  final HealthProber prober =
      (id, check, ports, inside) -> CompletableFuture.completedFuture(new HealthProber.Result(healthOf.getOrDefault(id, true), "fake"));
  final PortAllocator ports =
      new PortAllocator() {
        @Override
        public int allocate(Set<Integer> taken) {
          return nextPort.getAndIncrement();
        }

        @Override
        public boolean isFree(int port) {
          return true;
        }
      };

  @BeforeEach
  void setUp() {
    state = StateMachine.apply(state, new Command.RegisterNode(NODE));
    reconciler = newReconciler();
  }

  private Reconciler newReconciler() {
    return new Reconciler("hive", "n1", () -> state, name -> runtime, store, prober, ports, clock, events::add, SETTINGS, volumes, this::apply);
  }

  private void apply(Command c) {
    state = StateMachine.apply(state, c);
  }

  private void deploy(AppSpec spec) {
    apply(new Command.DeployApp(spec, 0));
    Map<Integer, String> all = new HashMap<>();
    state.apps().get(spec.name()).slots().keySet().forEach(o -> all.put(o, "n1"));
    apply(new Command.AssignSlots(spec.name(), all));
  }

  private static AppSpec.Builder web(int replicas) {
    return AppSpec.builder("web").command("serve").runtime("process").port(PortSpec.of(8080)).replicas(replicas).healthCheck(HealthCheck.http("/"));
  }

  private InstanceRecord only(int ordinal) {
    return reconciler.instances().stream().filter(r -> r.ordinal == ordinal).findFirst().orElseThrow();
  }

  private List<InstanceState> states() {
    return reconciler.instances().stream().map(r -> r.state).toList();
  }

  @Test
  void startsOneWorkloadPerSlotAndMarksThemHealthyWhenChecksPass() {
    deploy(web(3).build());
    reconciler.tick();
    assertThat(runtime.running()).isEqualTo(3);
    assertThat(states()).containsOnly(InstanceState.STARTING);
    // The first pass launched the checks; the next one reads their results.
    reconciler.tick();
    assertThat(states()).containsOnly(InstanceState.HEALTHY);
    assertThat(reconciler.instances()).extracting(r -> r.hostPorts.get("8080")).doesNotHaveDuplicates();
    assertThat(runtime.workloads.values()).allSatisfy(w -> assertThat(w.labels()).containsEntry("dev.hive.node", "n1").containsKey("dev.hive.slot"));
  }

  @Test
  void aKilledWorkloadIsRestartedInPlaceAfterTheBackoffAndCounted() {
    deploy(web(1).build());
    reconciler.tick();
    reconciler.tick();
    String id = only(0).id;
    runtime.exit(id, 137);
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.FAILED);
    assertThat(only(0).reason).contains("137");
    reconciler.tick();
    assertThat(runtime.started).hasSize(1); // still waiting out the 1 s backoff
    clock.advance(Duration.ofSeconds(1));
    reconciler.tick();
    assertThat(runtime.started).hasSize(2);
    assertThat(only(0).id).isEqualTo(id);
    assertThat(only(0).restarts).isEqualTo(1);
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.HEALTHY);
    assertThat(events).anyMatch(e -> e.type() == HiveEvent.Type.INSTANCE_RESTARTED);
  }

  @Test
  void aRuntimeThatDoesNotAnswerIsLeftAloneAndNeverReplaced() {
    deploy(web(3).build());
    reconciler.tick();
    reconciler.tick();
    assertThat(states()).containsOnly(InstanceState.HEALTHY);
    // The daemon restarts: for a while it answers nothing, then says the containers exited.
    runtime.unreachable = true;
    for (int i = 0; i < 5; i++) {
      clock.advance(Duration.ofSeconds(2));
      reconciler.tick();
    }
    assertThat(runtime.started).as("nothing started while the runtime could not be asked").hasSize(3);
    assertThat(states()).as("not knowing is not 'gone'").containsOnly(InstanceState.HEALTHY);
    assertThat(reconciler.skippedRuntimePasses()).isEqualTo(5);
    // Scaled down meanwhile: the instance is kept until it can really be stopped.
    apply(new Command.ScaleApp("web", 2));
    reconciler.tick();
    assertThat(reconciler.instances()).hasSize(3);
    runtime.workloads.keySet().forEach(id -> runtime.exit(id, 137));
    runtime.unreachable = false;
    reconciler.tick();
    assertThat(reconciler.instances()).hasSize(2);
    clock.advance(Duration.ofSeconds(1));
    reconciler.tick();
    reconciler.tick();
    assertThat(states()).containsOnly(InstanceState.HEALTHY);
    assertThat(runtime.running()).isEqualTo(2);
    assertThat(runtime.workloads).hasSize(2);
  }

  @Test
  void theBackoffDoublesUpToItsLimit() {
    deploy(web(1).healthCheck(null).restartLimit(10).build());
    reconciler.tick();
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      runtime.exit(only(0).id, 1);
      reconciler.tick();
      long delay = only(0).nextStartAtMillis - clock.millis();
      delays.add(delay);
      clock.advance(Duration.ofMillis(delay));
      reconciler.tick();
      assertThat(only(0).state).isEqualTo(InstanceState.RUNNING);
    }
    assertThat(delays).containsExactly(1000L, 2000L, 4000L, 8000L, 8000L, 8000L);
  }

  @Test
  void scalingDownStopsTheInstancesOfTheRemovedSlots() {
    deploy(web(5).build());
    reconciler.tick();
    assertThat(runtime.running()).isEqualTo(5);
    apply(new Command.ScaleApp("web", 1));
    reconciler.tick();
    assertThat(runtime.running()).isEqualTo(1);
    assertThat(runtime.workloads).hasSize(1);
    assertThat(reconciler.instances()).extracting(r -> r.ordinal).containsExactly(0);
  }

  @Test
  void scalingDownAServiceDrainsItsInstancesBeforeStoppingThem() {
    Reconciler.Settings draining = new Reconciler.Settings(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(8), Duration.ofSeconds(10),
        Duration.ofSeconds(2), Duration.ofSeconds(30));
    reconciler = new Reconciler("hive", "n1", () -> state, name -> runtime, store, prober, ports, clock, events::add, draining, volumes, this::apply);
    Map<String, Integer> openConnections = new HashMap<>();
    reconciler.countConnectionsWith(id -> openConnections.getOrDefault(id, 0));
    deploy(web(2).service("web", 0).build());
    reconciler.tick();
    reconciler.tick();
    assertThat(states()).containsOnly(InstanceState.HEALTHY);
    String leaving = only(1).id;
    openConnections.put(leaving, 1);
    apply(new Command.ScaleApp("web", 1));
    reconciler.tick();
    // Out of the endpoints at once, still running for the proxies that have not heard yet.
    assertThat(runtime.running()).isEqualTo(2);
    assertThat(Reconciler.healthy(only(1), state.apps().get("web").spec())).isFalse();
    assertThat(only(1).reason).startsWith("draining");
    clock.advance(Duration.ofSeconds(3));
    reconciler.tick();
    assertThat(runtime.running()).as("it still serves a connection").isEqualTo(2);
    openConnections.remove(leaving);
    reconciler.tick();
    assertThat(runtime.running()).isEqualTo(1);
    assertThat(reconciler.instances()).extracting(r -> r.ordinal).containsExactly(0);
  }

  @Test
  void aDrainEndsAtItsTimeoutEvenWithConnectionsOpen() {
    Reconciler.Settings draining = new Reconciler.Settings(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(8), Duration.ofSeconds(10),
        Duration.ofSeconds(2), Duration.ofSeconds(30));
    reconciler = new Reconciler("hive", "n1", () -> state, name -> runtime, store, prober, ports, clock, events::add, draining, volumes, this::apply);
    reconciler.countConnectionsWith(id -> 3);
    deploy(web(2).service("web", 0).build());
    reconciler.tick();
    reconciler.tick();
    apply(new Command.ScaleApp("web", 1));
    reconciler.tick();
    clock.advance(Duration.ofSeconds(29));
    reconciler.tick();
    assertThat(runtime.running()).isEqualTo(2);
    clock.advance(Duration.ofSeconds(2));
    reconciler.tick();
    assertThat(runtime.running()).isEqualTo(1);
  }

  @Test
  void restartPoliciesDecideWhetherAnExitedWorkloadComesBack() {
    deploy(web(1).healthCheck(null).restartPolicy(RestartPolicy.NEVER).build());
    reconciler.tick();
    runtime.exit(only(0).id, 1);
    reconciler.tick();
    clock.advance(Duration.ofMinutes(5));
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.FAILED);
    assertThat(runtime.started).hasSize(1);

    apply(new Command.DeleteApp("web"));
    reconciler.tick();
    deploy(AppSpec.builder("job").command("true").runtime("process").restartPolicy(RestartPolicy.ON_FAILURE).build());
    reconciler.tick();
    runtime.exit(only(0).id, 0);
    reconciler.tick();
    clock.advance(Duration.ofMinutes(5));
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.STOPPED);
    assertThat(only(0).nextStartAtMillis).isNull();
  }

  @Test
  void anInstanceFailingItsChecksIsMarkedUnhealthyStoppedAndRestarted() {
    deploy(web(1).build());
    reconciler.tick();
    reconciler.tick();
    String id = only(0).id;
    healthOf.put(id, false);
    for (int i = 0; i < 3; i++) {
      clock.advance(Duration.ofSeconds(2));
      reconciler.tick();
      reconciler.tick();
    }
    assertThat(events).anyMatch(e -> e.state() == InstanceState.UNHEALTHY);
    assertThat(runtime.stopped).containsExactly(id);
    assertThat(only(0).state).isEqualTo(InstanceState.FAILED);
    assertThat(only(0).reason).contains("health check");
    healthOf.put(id, true);
    clock.advance(Duration.ofSeconds(1));
    reconciler.tick();
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.HEALTHY);
    assertThat(only(0).restarts).isEqualTo(1);
  }

  @Test
  void failingChecksDuringTheStartupGraceDoNotKill() {
    deploy(web(1).build());
    healthOf.put("unused", true);
    reconciler.tick();
    healthOf.put(only(0).id, false);
    for (int i = 0; i < 4; i++) {
      clock.advance(Duration.ofSeconds(2));
      reconciler.tick();
    }
    assertThat(only(0).state).isEqualTo(InstanceState.STARTING);
    clock.advance(Duration.ofSeconds(4));
    reconciler.tick();
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.FAILED);
  }

  @Test
  void aStartThatFailsShowsTheReasonAndIsRetried() {
    runtime.failNextStartWith = "program 'nosuch' not found on PATH";
    deploy(web(1).build());
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.FAILED);
    assertThat(only(0).reason).contains("program 'nosuch' not found on PATH");
    clock.advance(Duration.ofSeconds(1));
    reconciler.tick();
    assertThat(only(0).state).isEqualTo(InstanceState.STARTING);
  }

  @Test
  void aNewReconcilerAdoptsWhatRunsAndStartsNothingTwice() {
    deploy(web(3).build());
    reconciler.tick();
    reconciler.tick();
    String killedWhileDown = only(1).id;
    // An unrecorded workload of this node with no slot: left behind by a crash, to be removed.
    runtime.workloads.put(
        "stray",
        new WorkloadStatus("stray", WorkloadStatus.State.RUNNING, OptionalLong.of(1), OptionalInt.empty(), null,
            Map.of("dev.hive.cluster", "hive", "dev.hive.node", "n1", "dev.hive.slot", "gone/0"), List.of(), ""));

    runtime.exit(killedWhileDown, 137);
    reconciler = newReconciler();
    reconciler.tick();
    assertThat(runtime.started).hasSize(3);
    assertThat(runtime.workloads).doesNotContainKey("stray");
    assertThat(events).filteredOn(e -> e.type() == HiveEvent.Type.INSTANCE_ADOPTED).hasSize(2);
    clock.advance(Duration.ofSeconds(1));
    reconciler.tick();
    reconciler.tick();
    assertThat(runtime.started).hasSize(4);
    assertThat(runtime.running()).isEqualTo(3);
    assertThat(states()).containsOnly(InstanceState.HEALTHY);
  }

  @Test
  void aStartTheLastAgentDidNotRecordIsAdoptedNotStartedAgain() {
    runtime.failNextStartWith = "cannot start (test)";
    deploy(web(1).build());
    reconciler.tick();
    InstanceRecord failed = only(0);
    assertThat(failed.state).isEqualTo(InstanceState.FAILED);
    // Its retry reached the runtime, and the agent stopped before it recorded the start.
    runtime.start(WorkloadSpec.builder(failed.id).command("serve").build());
    reconciler = newReconciler();
    clock.advance(Duration.ofSeconds(1));
    reconciler.tick();
    reconciler.tick();
    assertThat(runtime.started).hasSize(1);
    assertThat(only(0).state).isEqualTo(InstanceState.HEALTHY);
    assertThat(events).filteredOn(e -> e.type() == HiveEvent.Type.INSTANCE_ADOPTED).hasSize(1);
  }

  /** What the leader does between reconcile passes: restart steps, placement. */
  private void leaderPass() {
    dev.hive.core.scheduler.SlotController.plan(state, id -> dev.hive.api.NodeState.ALIVE).forEach(this::apply);
  }

  @Test
  void aRestartReplacesInstancesOneAtATimeWaitingForEachToBeHealthy() {
    deploy(web(3).build());
    reconciler.tick();
    reconciler.tick();
    List<String> oldIds = reconciler.instances().stream().map(r -> r.id).toList();
    apply(new Command.RestartApp("web"));
    leaderPass(); // raises slot 0
    reconciler.tick(); // replaces ordinal 0; the new one is STARTING
    assertThat(runtime.stopped).containsExactly(oldIds.get(0));
    leaderPass(); // slot 0 is not ready yet: nothing else moves
    reconciler.tick(); // the new one turns HEALTHY and is reported ready
    assertThat(runtime.stopped).hasSize(1);
    for (int i = 0; i < 6; i++) {
      leaderPass();
      reconciler.tick();
      assertThat(reconciler.instances().stream().filter(r -> r.state != InstanceState.HEALTHY).count()).isLessThanOrEqualTo(1);
    }
    assertThat(runtime.stopped).containsExactlyElementsOf(oldIds);
    assertThat(reconciler.instances()).allSatisfy(r -> assertThat(r.generation).isEqualTo(1));
    assertThat(runtime.running()).isEqualTo(3);
  }

  @Test
  void aStatefulAppStartsInOrdinalOrderUnderItsOrdinalNamesWithAVolumeEach() throws Exception {
    deploy(web(3).stateful(true).build());
    reconciler.tick();
    assertThat(runtime.started).containsExactly("web-0");
    reconciler.tick(); // web-0 healthy and reported ready: web-1 may start
    reconciler.tick();
    reconciler.tick();
    reconciler.tick();
    assertThat(runtime.started).containsExactly("web-0", "web-1", "web-2");
    assertThat(java.nio.file.Files.isDirectory(volumes.resolve("web-1"))).isTrue();
    java.nio.file.Files.writeString(volumes.resolve("web-1").resolve("data"), "kept");
    runtime.exit("web-1", 137);
    reconciler.tick();
    clock.advance(Duration.ofSeconds(5));
    reconciler.tick();
    assertThat(runtime.started).containsExactly("web-0", "web-1", "web-2", "web-1");
    assertThat(java.nio.file.Files.readString(volumes.resolve("web-1").resolve("data"))).isEqualTo("kept");
    apply(new Command.DeleteApp("web"));
    reconciler.tick();
    assertThat(volumes.resolve("web-1")).doesNotExist();
  }

  @Test
  void anInstanceFailingBeyondItsRestartLimitGivesItsSlotBackAndTheNodeIsAvoided() {
    runtime.failStarts = true;
    deploy(AppSpec.builder("bad").command("false").runtime("process").restartLimit(2).build());
    for (int i = 0; i < 6; i++) {
      reconciler.tick();
      clock.advance(Duration.ofSeconds(10));
    }
    assertThat(state.apps().get("bad").slots().get(0).assigned()).isFalse();
    assertThat(state.apps().get("bad").slots().get(0).avoid()).containsExactly("n1");
  }
}
