package dev.hive.core.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.AppSpec;
import dev.hive.api.ConflictException;
import dev.hive.api.HealthCheck;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.PortSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

public class StateMachineTest {
  public static final NodeRecord NODE = new NodeRecord("n1", "host", "127.0.0.1", 2, 1 << 30, Map.of("zone", "a"), List.of("process"), 1000);

  public static AppSpec web(int replicas) {
    return AppSpec.builder("web")
        .command("python3 -m http.server $PORT")
        .runtime("process")
        .port(PortSpec.of("http", 8080))
        .env("MODE", "test")
        .replicas(replicas)
        .healthCheck(HealthCheck.http("/"))
        .build();
  }

  private static Map<Integer, String> nodesOf(ClusterState s, String app) {
    Map<Integer, String> nodes = new java.util.TreeMap<>();
    s.apps().get(app).slots().forEach((ordinal, slot) -> nodes.put(ordinal, slot.node()));
    return nodes;
  }

  private static ClusterState apply(ClusterState s, Command... commands) {
    for (Command c : commands) {
      s = StateMachine.apply(s, c);
    }
    return s;
  }

  @Test
  void deployCreatesUnassignedSlotsAndAdvancesTheIndex() {
    ClusterState s = apply(ClusterState.EMPTY, new Command.RegisterNode(NODE), new Command.DeployApp(web(3), 42));
    assertThat(s.index()).isEqualTo(2);
    assertThat(nodesOf(s, "web")).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of(0, "", 1, "", 2, "")));
    assertThat(s.apps().get("web").createdAtMillis()).isEqualTo(42);
  }

  @Test
  void aServiceNameAndItsPortBelongToOneApp() {
    AppSpec web = AppSpec.builder("web").command("true").port(8080).service("front", 0).build();
    ClusterState s = apply(ClusterState.EMPTY, new Command.RegisterNode(NODE), new Command.DeployApp(web, 0));
    AppSpec sameName = AppSpec.builder("web2").command("true").port(9090).service("front", 0).build();
    assertThatThrownBy(() -> StateMachine.apply(s, new Command.DeployApp(sameName, 1)))
        .isInstanceOf(ConflictException.class).hasMessageContaining("service 'front' is already app 'web''s");
    AppSpec samePort = AppSpec.builder("api").command("true").port(9090).service("api", 8080).build();
    assertThatThrownBy(() -> StateMachine.apply(s, new Command.DeployApp(samePort, 1)))
        .isInstanceOf(ConflictException.class).hasMessageContaining("service port 8080 is already taken by service 'front'");
    AppSpec elsewhere = AppSpec.builder("api").command("true").port(8080).service("api", 8081).build();
    assertThat(StateMachine.apply(s, new Command.DeployApp(elsewhere, 1)).apps()).containsKeys("web", "api");
  }

  @Test
  void aRefusedCommandLeavesTheStateAsItWas() {
    ClusterState s = apply(ClusterState.EMPTY, new Command.RegisterNode(NODE), new Command.DeployApp(web(1), 0));
    ClusterState before = s;
    assertThatThrownBy(() -> StateMachine.apply(before, new Command.DeployApp(web(2), 1)))
        .isInstanceOf(ConflictException.class)
        .hasMessageContaining("app 'web' already exists");
    assertThatThrownBy(() -> StateMachine.apply(before, new Command.ScaleApp("nope", 1))).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> StateMachine.apply(before, new Command.ScaleApp("web", -1)))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("replicas");
    assertThatThrownBy(() -> StateMachine.apply(before, new Command.AssignSlots("web", Map.of(0, "ghost"))))
        .isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> StateMachine.apply(before, new Command.AssignSlots("web", Map.of(7, "n1"))))
        .isInstanceOf(InvalidSpecException.class);
    assertThat(before.index()).isEqualTo(2);
    assertThat(before.apps().get("web").spec().replicas()).isEqualTo(1);
  }

  @Test
  void scalingAddsAndRemovesSlotsAtTheEndAndKeepsTheOthersAssignments() {
    ClusterState s =
        apply(
            ClusterState.EMPTY,
            new Command.RegisterNode(NODE),
            new Command.DeployApp(web(2), 0),
            new Command.AssignSlots("web", Map.of(0, "n1", 1, "n1")),
            new Command.ScaleApp("web", 5));
    assertThat(nodesOf(s, "web")).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of(0, "n1", 1, "n1", 2, "", 3, "", 4, "")));
    s = StateMachine.apply(s, new Command.ScaleApp("web", 1));
    assertThat(nodesOf(s, "web")).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of(0, "n1")));
    assertThat(s.apps().get("web").spec().replicas()).isEqualTo(1);
    assertThat(s.slotsOf("n1")).containsExactly(Map.entry("web", List.of(0)));
  }

  @Test
  void restartBumpsTheGenerationAndDeleteRemovesTheApp() {
    ClusterState s = apply(ClusterState.EMPTY, new Command.RegisterNode(NODE), new Command.DeployApp(web(1), 0), new Command.RestartApp("web"));
    assertThat(s.apps().get("web").generation()).isEqualTo(1);
    s = StateMachine.apply(s, new Command.DeleteApp("web"));
    assertThat(s.apps()).isEmpty();
    ClusterState deleted = s;
    assertThatThrownBy(() -> StateMachine.apply(deleted, new Command.DeleteApp("web"))).isInstanceOf(NotFoundException.class);
  }

  @Test
  void replayingTheEncodedLogGivesTheSameState() {
    StateCodec codec = new StateCodec();
    List<Command> commands =
        List.of(
            new Command.RegisterNode(NODE),
            new Command.DeployApp(web(3), 5),
            new Command.AssignSlots("web", Map.of(0, "n1", 1, "n1", 2, "n1")),
            new Command.ScaleApp("web", 4),
            new Command.RestartApp("web"),
            new Command.ReportReady("n1", Map.of("web/0", 0, "web/1", 0)),
            new Command.RestartSlot("web", 1, 1),
            new Command.UnassignSlots("web", Map.of(2, "n1"), true),
            new Command.SetDraining("n1", true),
            new Command.SetPendingReason("web", "no node can take it"));
    ClusterState direct = ClusterState.EMPTY;
    ClusterState replayed = ClusterState.EMPTY;
    for (Command c : commands) {
      direct = StateMachine.apply(direct, c);
      replayed = StateMachine.apply(replayed, codec.decodeCommand(codec.encode(c)));
    }
    assertThat(replayed).isEqualTo(direct);
    assertThat(codec.decodeState(codec.encode(direct))).isEqualTo(direct);
  }

  @Test
  void placementCommandsSkipSlotsThatMovedSinceTheyWereComputed() {
    ClusterState s = apply(ClusterState.EMPTY, new Command.RegisterNode(NODE), new Command.RegisterNode(new NodeRecord("n2", "other", "127.0.0.2", 2, 1 << 30,
        Map.of(), List.of("process"), 0)), new Command.DeployApp(web(2), 0), new Command.AssignSlots("web", Map.of(0, "n1")));
    // A second assignment of a held slot is a stale decision: it does not move the slot.
    s = StateMachine.apply(s, new Command.AssignSlots("web", Map.of(0, "n2", 1, "n2")));
    assertThat(nodesOf(s, "web")).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of(0, "n1", 1, "n2")));
    // Releasing from a node that no longer holds the slot does nothing.
    s = StateMachine.apply(s, new Command.UnassignSlots("web", Map.of(0, "n2", 1, "n2"), true));
    assertThat(nodesOf(s, "web")).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of(0, "n1", 1, "")));
    assertThat(s.apps().get("web").slots().get(1).avoid()).containsExactly("n2");
    // Readiness reported by a node that does not hold the slot is ignored.
    s = StateMachine.apply(s, new Command.ReportReady("n2", Map.of("web/0", 0)));
    assertThat(s.apps().get("web").slots().get(0).ready()).isFalse();
    s = StateMachine.apply(s, new Command.ReportReady("n1", Map.of("web/0", 0)));
    assertThat(s.apps().get("web").slots().get(0).ready()).isTrue();
  }

  @Test
  void aDrainSurvivesTheNodeRegisteringAgain() {
    ClusterState s = apply(ClusterState.EMPTY, new Command.RegisterNode(NODE), new Command.SetDraining("n1", true), new Command.RegisterNode(NODE));
    assertThat(s.nodes().get("n1").draining()).isTrue();
    assertThatThrownBy(() -> StateMachine.apply(ClusterState.EMPTY, new Command.SetDraining("ghost", true))).isInstanceOf(NotFoundException.class);
  }
}
