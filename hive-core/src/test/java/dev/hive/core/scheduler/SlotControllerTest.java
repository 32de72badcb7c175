package dev.hive.core.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.AppSpec;
import dev.hive.api.NodeState;
import dev.hive.api.PlacementStrategy;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import dev.hive.core.state.StateMachine;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The leader's passes over a cluster state, with node liveness given by the test. */
class SlotControllerTest {
  final Map<String, NodeState> liveness = new HashMap<>();
  ClusterState state = ClusterState.EMPTY;

  void apply(Command c) {
    state = StateMachine.apply(state, c);
  }

  void addNode(String id) {
    apply(new Command.RegisterNode(new NodeRecord(id, id, "127.0.0.1", 4, 8L << 30, Map.of(), List.of("process"), 0)));
    liveness.put(id, NodeState.ALIVE);
  }

  List<Command> pass() {
    List<Command> commands = SlotController.plan(state, liveness::get);
    commands.forEach(this::apply);
    return commands;
  }

  /** Every node reports every slot it holds ready at its generation. */
  void allReady() {
    Map<String, Map<String, Integer>> byNode = new TreeMap<>();
    state.apps().values().forEach(a -> a.slots().forEach((o, s) -> {
      if (s.assigned()) {
        byNode.computeIfAbsent(s.node(), n -> new TreeMap<>()).put(a.name() + "/" + o, s.generation());
      }
    }));
    byNode.forEach((n, r) -> apply(new Command.ReportReady(n, r)));
  }

  Map<Integer, String> nodesOf(String app) {
    Map<Integer, String> m = new TreeMap<>();
    state.apps().get(app).slots().forEach((o, s) -> m.put(o, s.node()));
    return m;
  }

  AppSpec.Builder web(int replicas) {
    return AppSpec.builder("web").command("sleep 100").runtime("process").replicas(replicas).strategy(PlacementStrategy.SPREAD);
  }

  @Test
  void theSlotsOfADeadNodeArePlacedOnTheSurvivorsAndTheCountStaysExact() {
    addNode("n1");
    addNode("n2");
    addNode("n3");
    apply(new Command.DeployApp(web(6).build(), 0));
    pass();
    assertThat(nodesOf("web").values()).containsOnly("n1", "n2", "n3").hasSize(6);
    allReady();
    liveness.put("n2", NodeState.SUSPECT);
    assertThat(pass()).isEmpty();
    liveness.put("n2", NodeState.DEAD);
    pass();
    Map<Integer, String> after = nodesOf("web");
    assertThat(after).hasSize(6);
    assertThat(after.values()).containsOnly("n1", "n3");
    assertThat(after.values().stream().filter("n1"::equals).count()).isEqualTo(3);
  }

  @Test
  void aDrainMovesOneSlotAtATimeAndWaitsForItToBeReady() {
    addNode("n1");
    addNode("n2");
    apply(new Command.DeployApp(web(4).build(), 0));
    pass();
    allReady();
    apply(new Command.SetDraining("n1", true));
    pass();
    assertThat(nodesOf("web").values().stream().filter("n1"::equals).count()).isEqualTo(1);
    assertThat(pass()).isEmpty();
    allReady();
    pass();
    assertThat(nodesOf("web").values()).containsOnly("n2");
  }

  @Test
  void aStatefulRestartNeverTakesDownMoreThanAMinorityOfOrdinals() {
    for (int i = 1; i <= 5; i++) {
      addNode("n" + i);
    }
    apply(new Command.DeployApp(web(5).stateful(true).antiAffinity(true).build(), 0));
    pass();
    allReady();
    apply(new Command.RestartApp("web"));
    int maxDown = 0;
    for (int round = 0; round < 10; round++) {
      // Several passes before the replacements report ready: the budget, not the pace, must hold.
      for (int p = 0; p < 3; p++) {
        pass();
        maxDown = Math.max(maxDown, state.apps().get("web").notReady());
      }
      allReady();
    }
    assertThat(maxDown).isEqualTo(2);
    assertThat(state.apps().get("web").slots().values()).allMatch(s -> s.generation() == 1 && s.ready());
  }

  @Test
  void whatFitsNowhereStaysPendingWithAReasonThatClearsOncePlaced() {
    addNode("n1");
    apply(new Command.DeployApp(web(1).cpus(8).build(), 0));
    pass();
    assertThat(state.apps().get("web").pendingReason()).contains("needs 8 CPUs, largest free is 4");
    apply(new Command.ScaleApp("web", 0));
    pass();
    assertThat(state.apps().get("web").pendingReason()).isEmpty();
  }
}
