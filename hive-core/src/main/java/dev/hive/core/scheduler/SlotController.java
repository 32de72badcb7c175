package dev.hive.core.scheduler;

import dev.hive.api.AppSpec;
import dev.hive.api.NodeState;
import dev.hive.api.PortSpec;
import dev.hive.core.state.AppRecord;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import dev.hive.core.state.Slot;
import dev.hive.core.state.StateMachine;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * What the leader decides in one pass, as a pure function of the cluster state and of what
 * membership says about each node: slots of DEAD or LEFT nodes are released, rolling restarts and
 * drains advance by one slot per app, and every unassigned slot is offered to the {@link
 * Scheduler}. Each step is applied to a copy of the state before the next is computed, so the
 * commands returned are consistent with one another in the order given.
 *
 * <p>Hive's own disruptions (a restart step, a drain move) take down a ready slot only while the
 * app has fewer slots not ready than its budget: one for a stateless app; floor((n-1)/2) for a
 * stateful app of n ordinals, so its own quorum survives -- but at least one, without which a
 * stateful app of one or two ordinals could never be restarted or drained. Replacing a slot that
 * is not ready costs nothing and is always allowed.
 */
public final class SlotController {
  /** CPU an app that gives none is placed as needing (Nomad gives such tasks a default too). */
  public static final long NOMINAL_CPU_MILLIS = 10;
  /** Memory an app that gives none is placed as needing. */
  public static final long NOMINAL_MEMORY_BYTES = 64L << 20;

  private SlotController() {}

  /**
   * Returns the commands of one leader pass, in order.
   *
   * @param state the current cluster state
   * @param liveness what membership says of a node id (null when it does not know the node)
   */
  public static List<Command> plan(ClusterState state, Function<String, NodeState> liveness) {
    List<Command> commands = new ArrayList<>();
    ClusterState s = state;
    s = releaseLostNodes(s, liveness, commands);
    s = advanceRestarts(s, commands);
    s = advanceDrains(s, liveness, commands);
    place(s, liveness, commands);
    return commands;
  }

  private static ClusterState emit(ClusterState s, Command c, List<Command> commands) {
    commands.add(c);
    return StateMachine.apply(s, c);
  }

  private static ClusterState releaseLostNodes(ClusterState state, Function<String, NodeState> liveness, List<Command> commands) {
    ClusterState s = state;
    for (AppRecord app : List.copyOf(state.apps().values())) {
      Map<Integer, String> lost = new TreeMap<>();
      app.slots().forEach((ordinal, slot) -> {
        if (slot.assigned()) {
          NodeState st = liveness.apply(slot.node());
          if (!state.nodes().containsKey(slot.node()) || st == NodeState.DEAD || st == NodeState.LEFT) {
            lost.put(ordinal, slot.node());
          }
        }
      });
      if (!lost.isEmpty()) {
        s = emit(s, new Command.UnassignSlots(app.name(), lost, false), commands);
      }
    }
    return s;
  }

  /** Returns how many of an app's slots Hive may have down at once by its own action. */
  public static int disruptionBudget(AppSpec spec) {
    return spec.stateful() ? Math.max(1, (spec.replicas() - 1) / 2) : 1;
  }

  private static ClusterState advanceRestarts(ClusterState s, List<Command> commands) {
    for (AppRecord app : List.copyOf(s.apps().values())) {
      Integer next = null;
      for (Map.Entry<Integer, Slot> e : app.slots().entrySet()) {
        if (e.getValue().generation() < app.generation() && !e.getValue().ready()) {
          next = e.getKey();
          break;
        }
      }
      if (next == null && app.notReady() < disruptionBudget(app.spec())) {
        next = app.slots().entrySet().stream().filter(e -> e.getValue().generation() < app.generation()).map(Map.Entry::getKey).findFirst().orElse(null);
      }
      if (next != null) {
        s = emit(s, new Command.RestartSlot(app.name(), next, app.generation()), commands);
      }
    }
    return s;
  }

  private static ClusterState advanceDrains(ClusterState s, Function<String, NodeState> liveness, List<Command> commands) {
    Set<String> draining = new HashSet<>();
    s.nodes().values().stream().filter(NodeRecord::draining).forEach(n -> draining.add(n.id()));
    if (draining.isEmpty()) {
      return s;
    }
    for (AppRecord app : List.copyOf(s.apps().values())) {
      for (Map.Entry<Integer, Slot> e : app.slots().entrySet()) {
        Slot slot = e.getValue();
        if (!draining.contains(slot.node())) {
          continue;
        }
        if (slot.ready() && app.notReady() >= disruptionBudget(app.spec())) {
          break;
        }
        ClusterState moved = StateMachine.apply(s, new Command.UnassignSlots(app.name(), Map.of(e.getKey(), slot.node()), false));
        // Move only where the slot can go: a drain must not turn a running replica into a pending one.
        List<Command> trial = new ArrayList<>();
        place(moved, liveness, trial);
        boolean placeable = trial.stream().anyMatch(c -> c instanceof Command.AssignSlots a && a.app().equals(app.name()) && a.assignments().containsKey(e.getKey()));
        if (placeable) {
          s = emit(s, new Command.UnassignSlots(app.name(), Map.of(e.getKey(), slot.node()), false), commands);
        }
        break;
      }
    }
    return s;
  }

  private static void place(ClusterState s, Function<String, NodeState> liveness, List<Command> commands) {
    List<SlotRequest> requests = new ArrayList<>();
    List<AppRecord> requested = new ArrayList<>();
    boolean anyPending = false;
    for (AppRecord app : s.apps().values()) {
      List<Integer> pending = new ArrayList<>();
      List<String> placedOn = new ArrayList<>();
      Map<Integer, Set<String>> avoid = new HashMap<>();
      app.slots().forEach((ordinal, slot) -> {
        if (slot.assigned()) {
          placedOn.add(slot.node());
        } else {
          pending.add(ordinal);
          if (!slot.avoid().isEmpty()) {
            avoid.put(ordinal, slot.avoid());
          }
        }
      });
      if (pending.isEmpty()) {
        if (!app.pendingReason().isEmpty()) {
          commands.add(new Command.SetPendingReason(app.name(), ""));
        }
        continue;
      }
      anyPending = true;
      requests.add(request(app, pending.stream().mapToInt(Integer::intValue).toArray(), placedOn, avoid));
      requested.add(app);
    }
    if (!anyPending) {
      return;
    }
    Schedule schedule = Scheduler.schedule(capacities(s, liveness), requests);
    for (int i = 0; i < requests.size(); i++) {
      AppRecord app = requested.get(i);
      Map<Integer, String> placements = schedule.placements(i);
      if (!placements.isEmpty()) {
        commands.add(new Command.AssignSlots(app.name(), placements));
      }
      String reason = schedule.unplacedReason(i) == null ? "" : schedule.unplacedReason(i);
      if (!reason.equals(app.pendingReason())) {
        commands.add(new Command.SetPendingReason(app.name(), reason));
      }
    }
  }

  /** What each slot of the app allocates: its limits, or the nominal figures where it gives none. */
  static SlotRequest request(AppRecord app, int[] ordinals, List<String> placedOn, Map<Integer, Set<String>> avoid) {
    AppSpec spec = app.spec();
    List<Integer> hostPorts = spec.ports().stream().map(PortSpec::hostPort).filter(p -> p > 0).toList();
    return new SlotRequest(app.name(), ordinals, spec.runtime() == null ? "process" : spec.runtime(), cpuMillis(spec), memoryBytes(spec), hostPorts,
        spec.constraints(), spec.tolerations(), spec.antiAffinity(), spec.strategy(), placedOn, avoid);
  }

  static long cpuMillis(AppSpec spec) {
    return spec.cpus() > 0 ? Math.max(1, Math.round(spec.cpus() * 1000)) : NOMINAL_CPU_MILLIS;
  }

  static long memoryBytes(AppSpec spec) {
    return spec.memoryBytes() > 0 ? spec.memoryBytes() : NOMINAL_MEMORY_BYTES;
  }

  /** The nodes that may take slots -- live and not drained -- with what their slots allocate. */
  static List<NodeCapacity> capacities(ClusterState s, Function<String, NodeState> liveness) {
    Map<String, long[]> used = new HashMap<>();
    Map<String, Set<Integer>> ports = new HashMap<>();
    for (AppRecord app : s.apps().values()) {
      long cpu = cpuMillis(app.spec());
      long memory = memoryBytes(app.spec());
      for (Slot slot : app.slots().values()) {
        if (slot.assigned()) {
          long[] u = used.computeIfAbsent(slot.node(), k -> new long[2]);
          u[0] += cpu;
          u[1] += memory;
          for (PortSpec p : app.spec().ports()) {
            if (p.hostPort() > 0) {
              ports.computeIfAbsent(slot.node(), k -> new HashSet<>()).add(p.hostPort());
            }
          }
        }
      }
    }
    List<NodeCapacity> nodes = new ArrayList<>();
    for (NodeRecord n : s.nodes().values()) {
      if (n.draining() || liveness.apply(n.id()) != NodeState.ALIVE) {
        continue;
      }
      long[] u = used.getOrDefault(n.id(), new long[2]);
      nodes.add(new NodeCapacity(n.id(), Math.round(n.cpus() * 1000), n.memoryBytes(), u[0], u[1], ports.getOrDefault(n.id(), Set.of()), n.labels(),
          n.taints(), new HashSet<>(n.runtimes())));
    }
    return nodes;
  }
}
