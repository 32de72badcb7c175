package dev.hive.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.hive.api.CommandStatus;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.sim.VirtualClock;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class CommandReporterTest {
  private final List<Command> submitted = new CopyOnWriteArrayList<>();
  private final CommandLog log = new CommandLog() {
    @Override
    public ClusterState state() {
      return ClusterState.EMPTY;
    }

    @Override
    public ClusterState submit(Command command, String requestId) {
      submitted.add(command);
      return ClusterState.EMPTY;
    }

    @Override
    public CommandStatus status(String requestId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void onApplied(Consumer<ClusterState> listener) {}

    @Override
    public void close() {}
  };

  @Test
  void readinessGoesAtOnceThenAtMostOnceASecondAsTheLatestReport() throws Exception {
    VirtualClock clock = new VirtualClock(Instant.parse("2026-12-05T00:00:00Z"));
    try (CommandReporter reporter = new CommandReporter(log, Executors.newSingleThreadScheduledExecutor(), clock)) {
      reporter.accept(new Command.ReportReady("n1", Map.of("web/0", 1)));
      await().atMost(Duration.ofSeconds(5)).until(() -> submitted.size() == 1);
      // Three changes within the second: none goes before it ends, and then only the latest.
      reporter.accept(new Command.ReportReady("n1", Map.of("web/1", 1)));
      reporter.accept(new Command.ReportReady("n1", Map.of("web/2", 1)));
      reporter.accept(new Command.ReportReady("n1", Map.of("web/3", 1)));
      // A release is not a readiness report: it goes at once.
      reporter.accept(new Command.UnassignSlots("web", Map.of(4, "n1"), true));
      await().atMost(Duration.ofSeconds(5)).until(() -> submitted.size() == 2);
      Thread.sleep(1500);
      assertThat(submitted).hasSize(2);
      clock.advance(Duration.ofSeconds(1));
      await().atMost(Duration.ofSeconds(5)).until(() -> submitted.size() == 3);
      assertThat(submitted.get(2)).isEqualTo(new Command.ReportReady("n1", Map.of("web/3", 1)));
    }
  }
}
