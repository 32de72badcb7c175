package dev.hive.core.consensus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.ConflictException;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.storage.sqlite.SqliteStoreProvider;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.Store;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalCommandLogTest {
  @TempDir Path dir;

  private Store open() {
    return new SqliteStoreProvider().create(new ProviderConfig(dir, "hive", "n1", Clock.systemUTC(), Map.of()));
  }

  @Test
  void theStateSurvivesAReopenThroughSnapshotAndLog() {
    ClusterState before;
    try (Store store = open()) {
      LocalCommandLog log = new LocalCommandLog(store, 8);
      log.submit(new Command.RegisterNode(dev.hive.core.state.StateMachineTest.NODE));
      log.submit(new Command.DeployApp(dev.hive.core.state.StateMachineTest.web(1), 0));
      for (int i = 2; i <= 20; i++) {
        log.submit(new Command.ScaleApp("web", i));
      }
      before = log.state();
      assertThat(before.index()).isEqualTo(21);
      // Entries up to the last snapshot (index 16) are gone; 17..21 remain.
      assertThat(store.list(LocalCommandLog.LOG)).hasSize(5);
    }
    try (Store store = open()) {
      assertThat(new LocalCommandLog(store, 8).state()).isEqualTo(before);
    }
  }

  @Test
  void aRefusedCommandWritesNothing() {
    try (Store store = open()) {
      LocalCommandLog log = new LocalCommandLog(store, 64);
      log.submit(new Command.RegisterNode(dev.hive.core.state.StateMachineTest.NODE));
      log.submit(new Command.DeployApp(dev.hive.core.state.StateMachineTest.web(1), 0));
      long revision = store.revision();
      assertThatThrownBy(() -> log.submit(new Command.DeployApp(dev.hive.core.state.StateMachineTest.web(2), 0)))
          .isInstanceOf(ConflictException.class);
      assertThat(store.revision()).isEqualTo(revision);
      assertThat(log.state().index()).isEqualTo(2);
    }
  }
}
