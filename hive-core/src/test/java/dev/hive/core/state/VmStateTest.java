package dev.hive.core.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.ConflictException;
import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationState;
import dev.hive.api.VmSpec;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** VM and migration commands: one migration per VM at a time, idempotent by id, replayed through the codec. */
class VmStateTest {
  private final StateCodec codec = new StateCodec();

  private ClusterState twoNodesAndAVm() {
    ClusterState s = ClusterState.EMPTY;
    for (String n : List.of("a", "b")) {
      s = StateMachine.apply(s, new Command.RegisterNode(new NodeRecord(n, n, "127.0.0.1", 2, 1L << 30, Map.of(), List.of("process"), 0, Set.of(), false,
          "libvirt")));
    }
    return StateMachine.apply(s, new Command.CreateVm(VmSpec.builder("g1").build(), "a", 1));
  }

  @Test
  void aVmMigratesOnceAtATimeAndMovesOnlyWhenItSucceeded() {
    ClusterState s = twoNodesAndAVm();
    MigrationRecord first = MigrationRecord.started("mig-1", "g1", MigrationMode.LIVE, "a", "b", 2);
    s = StateMachine.apply(s, new Command.StartMigration(first));
    ClusterState started = s;
    assertThat(StateMachine.apply(started, new Command.StartMigration(first)).vms()).isEqualTo(started.vms()); // same id: no change
    assertThatThrownBy(() -> StateMachine.apply(started, new Command.StartMigration(MigrationRecord.started("mig-2", "g1", MigrationMode.COLD, "a", "b", 3))))
        .isInstanceOf(ConflictException.class).hasMessageContaining("already being migrated");
    assertThatThrownBy(() -> StateMachine.apply(started, new Command.DeleteVm("g1"))).isInstanceOf(ConflictException.class);

    ClusterState rolledBack = StateMachine.apply(s, new Command.FinishMigration("mig-1", MigrationState.ROLLED_BACK, 5, 3, 0, 10, "target died"));
    assertThat(rolledBack.vms().get("g1").node()).isEqualTo("a");
    assertThat(rolledBack.vms().get("g1").migration()).isEmpty();
    // Finishing again (a retried command after a leader change) changes nothing.
    ClusterState again = StateMachine.apply(rolledBack, new Command.FinishMigration("mig-1", MigrationState.SUCCEEDED, 6, 3, 0, 10, ""));
    assertThat(again.migrations().get("mig-1").state()).isEqualTo(MigrationState.ROLLED_BACK);
    assertThat(again.vms().get("g1").node()).isEqualTo("a");

    ClusterState moved = StateMachine.apply(StateMachine.apply(again, new Command.StartMigration(MigrationRecord.started("mig-3", "g1", MigrationMode.LIVE,
        "a", "b", 7))), new Command.FinishMigration("mig-3", MigrationState.SUCCEEDED, 9, 2, 40, 100, ""));
    assertThat(moved.vms().get("g1").node()).isEqualTo("b");
    assertThatThrownBy(() -> StateMachine.apply(moved, new Command.StartMigration(MigrationRecord.started("mig-4", "g1", MigrationMode.LIVE, "a", "b", 10))))
        .isInstanceOf(ConflictException.class).hasMessageContaining("is on b");
  }

  @Test
  void vmCommandsAndStatesSurviveTheCodec() {
    ClusterState s = twoNodesAndAVm();
    Command start = new Command.StartMigration(MigrationRecord.started("mig-1", "g1", MigrationMode.WARM, "a", "b", 2));
    assertThat(codec.decodeCommand(codec.encode(start))).isEqualTo(start);
    Command finish = new Command.FinishMigration("mig-1", MigrationState.FAILED, 5, 3, 1, 10, "both down");
    assertThat(codec.decodeCommand(codec.encode(finish))).isEqualTo(finish);
    Command create = new Command.CreateVm(VmSpec.builder("g2").vcpus(2).memoryBytes(64L << 20).build(), "b", 4);
    assertThat(codec.decodeCommand(codec.encode(create))).isEqualTo(create);
    s = StateMachine.apply(StateMachine.apply(s, start), finish);
    assertThat(codec.decodeState(codec.encode(s))).isEqualTo(s);
    assertThat(codec.decodeState(codec.encode(s)).nodes().get("a").vmRuntime()).isEqualTo("libvirt");
  }
}
