package dev.hive.spi.kit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.hive.api.HiveException;
import dev.hive.spi.PortBinding;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.WorkloadStatus;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link WorkloadRuntime} must do, on real workloads. A runtime's test extends this
 * class, opens the runtime, and says how to express four workloads in its terms (a command for
 * {@code process}, an image for container runtimes). Every workload carries the label {@code
 * dev.hive.session=<uuid>} and is removed after each test.
 */
public abstract class WorkloadRuntimeCompatibilityKit {
  /** Long enough for a container runtime on a slow machine; a fast runtime finishes sooner. */
  protected static final Duration PATIENCE = Duration.ofSeconds(60);

  @TempDir protected Path dataDir;
  protected WorkloadRuntime runtime;
  protected final String session = UUID.randomUUID().toString();

  /** Opens the runtime under test, keeping its files under {@code dataDir}. */
  protected abstract WorkloadRuntime openRuntime(Path dataDir);

  /** A workload that prints the value of {@code $KIT_MESSAGE} on stdout, then runs until stopped. */
  protected abstract WorkloadSpec.Builder printsMessageThenRuns(String id);

  /** A workload that exits with {@code code} at once. */
  protected abstract WorkloadSpec.Builder exitsWith(String id, int code);

  /** A workload that ignores SIGTERM (so only the kill after the grace period ends it). */
  protected abstract WorkloadSpec.Builder ignoresSigterm(String id);

  /** A workload that answers HTTP 200 on {@code $PORT} (the first binding's port inside it). */
  protected abstract WorkloadSpec.Builder servesHttp(String id);

  /** A workload that cannot be started: a program or image that does not exist. */
  protected abstract WorkloadSpec.Builder cannotStart(String id);

  @BeforeEach
  void openTheRuntime() {
    runtime = openRuntime(dataDir);
  }

  @AfterEach
  void removeEverythingThisTestMade() {
    for (WorkloadStatus status : runtime.list(Map.of("dev.hive.session", session))) {
      runtime.remove(status.id());
    }
    runtime.close();
  }

  private WorkloadSpec labelled(WorkloadSpec.Builder builder) {
    return builder.label("dev.hive.session", session).label("dev.hive.kit", "true").env("KIT_MESSAGE", "hello-" + session).build();
  }

  private String id(String what) {
    return "kit-" + what + "-" + session.substring(0, 8);
  }

  private WorkloadStatus awaitExited(String id) {
    await().atMost(PATIENCE).until(() -> runtime.inspect(id).map(s -> s.state() == WorkloadStatus.State.EXITED).orElse(false));
    return runtime.inspect(id).orElseThrow();
  }

  @Test
  void startedWorkloadRunsAndIsListedByItsLabels() {
    String id = id("runs");
    WorkloadStatus started = runtime.start(labelled(printsMessageThenRuns(id)));
    assertThat(started.id()).isEqualTo(id);
    assertThat(started.state()).isEqualTo(WorkloadStatus.State.RUNNING);
    assertThat(runtime.inspect(id).orElseThrow().state()).isEqualTo(WorkloadStatus.State.RUNNING);
    assertThat(runtime.list(Map.of("dev.hive.session", session))).extracting(WorkloadStatus::id).containsExactly(id);
    assertThat(runtime.list(Map.of("dev.hive.session", "another-session"))).isEmpty();
    assertThat(runtime.inspect(id).orElseThrow().labels()).containsEntry("dev.hive.kit", "true");
  }

  @Test
  void environmentReachesTheWorkloadAndItsOutputIsInTheLogs() {
    String id = id("env");
    runtime.start(labelled(printsMessageThenRuns(id)));
    await().atMost(PATIENCE).until(() -> runtime.logs(id, 10).contains("hello-" + session));
  }

  @Test
  void exitCodeIsReported() {
    String id = id("exit");
    runtime.start(labelled(exitsWith(id, 3)));
    WorkloadStatus exited = awaitExited(id);
    assertThat(exited.exitCode()).hasValue(3);
  }

  @Test
  void exitListenerHearsAnExit() {
    List<String> exited = new CopyOnWriteArrayList<>();
    runtime.onExit(status -> exited.add(status.id()));
    String id = id("listen");
    runtime.start(labelled(exitsWith(id, 0)));
    await().atMost(PATIENCE).until(() -> exited.contains(id));
  }

  @Test
  void stopEndsAWorkloadGracefully() {
    String id = id("stop");
    runtime.start(labelled(printsMessageThenRuns(id)));
    runtime.stop(id, Duration.ofSeconds(10));
    assertThat(runtime.inspect(id).orElseThrow().state()).isEqualTo(WorkloadStatus.State.EXITED);
  }

  @Test
  void stopKillsAWorkloadThatIgnoresSigtermAfterTheGracePeriod() {
    String id = id("stubborn");
    runtime.start(labelled(ignoresSigterm(id)));
    // Give the workload time to install its SIGTERM handler: the point is that it ignores it.
    await().pollDelay(Duration.ofMillis(500)).atMost(PATIENCE).until(() -> runtime.logs(id, 5).contains("trapped"));
    runtime.stop(id, Duration.ofMillis(500));
    assertThat(runtime.inspect(id).orElseThrow().state()).isEqualTo(WorkloadStatus.State.EXITED);
  }

  @Test
  void removeForgetsTheWorkload() {
    String id = id("remove");
    runtime.start(labelled(printsMessageThenRuns(id)));
    runtime.remove(id);
    assertThat(runtime.inspect(id)).isEmpty();
    assertThat(runtime.list(Map.of("dev.hive.session", session))).isEmpty();
  }

  @Test
  void unknownIdsAreHarmless() {
    assertThat(runtime.inspect("kit-never-started")).isEmpty();
    assertThat(runtime.logs("kit-never-started", 10)).isEmpty();
    assertThat(runtime.stats("kit-never-started")).isEmpty();
    runtime.stop("kit-never-started", Duration.ofSeconds(1));
    runtime.remove("kit-never-started");
  }

  @Test
  void aWorkloadThatCannotStartFailsWithAReasonAndLeavesNothing() {
    String id = id("broken");
    assertThatThrownBy(() -> runtime.start(labelled(cannotStart(id))))
        .isInstanceOf(HiveException.class)
        .hasMessageContaining("not found");
    assertThat(runtime.list(Map.of("dev.hive.session", session))).isEmpty();
  }

  @Test
  void aReopenedRuntimeAdoptsTheWorkloadsThatSurvived() {
    String id = id("adopt");
    WorkloadStatus started = runtime.start(labelled(printsMessageThenRuns(id)));
    runtime.close();
    runtime = openRuntime(dataDir);
    WorkloadStatus adopted = runtime.inspect(id).orElseThrow();
    assertThat(adopted.state()).isEqualTo(WorkloadStatus.State.RUNNING);
    assertThat(adopted.pid()).isEqualTo(started.pid());
    assertThat(runtime.list(Map.of("dev.hive.session", session))).extracting(WorkloadStatus::id).containsExactly(id);
    runtime.stop(id, Duration.ofSeconds(10));
    assertThat(runtime.inspect(id).orElseThrow().state()).isEqualTo(WorkloadStatus.State.EXITED);
  }

  /** Whether the runtime runs commands inside its workloads ({@link WorkloadRuntime#exec}); false: it must refuse them. */
  protected boolean execsInside() {
    return false;
  }

  @Test
  void aCommandRunsInsideARunningWorkloadWithItsExitCodeOrIsRefusedClearly() {
    String id = id("exec");
    runtime.start(labelled(printsMessageThenRuns(id)));
    if (!execsInside()) {
      // A runtime without an inside (a host process) says so; its exec checks run on the host.
      assertThatThrownBy(() -> runtime.exec(id, List.of("true"), Duration.ofSeconds(5))).isInstanceOf(HiveException.class)
          .hasMessageContaining("cannot run a command inside");
      return;
    }
    assertThat(runtime.exec(id, List.of("sh", "-c", "test \"$KIT_MESSAGE\" = hello-" + session), Duration.ofSeconds(30))).isZero();
    assertThat(runtime.exec(id, List.of("sh", "-c", "exit 7"), Duration.ofSeconds(30))).isEqualTo(7);
  }

  @Test
  void aPortBindingIsServedOnTheHostPort() throws IOException {
    int hostPort = freePort();
    String id = id("http");
    runtime.start(labelled(servesHttp(id).port(new PortBinding("http", 8080, hostPort))));
    assertThat(runtime.inspect(id).orElseThrow().ports()).containsExactly(new PortBinding("http", 8080, hostPort));
    await().atMost(PATIENCE).ignoreExceptions().until(() -> httpStatus(hostPort) == 200);
    assertThat(runtime.stats(id)).isPresent();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static int httpStatus(int port) throws IOException {
    HttpURLConnection connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/").toURL().openConnection();
    connection.setConnectTimeout(1000);
    connection.setReadTimeout(2000);
    try {
      return connection.getResponseCode();
    } finally {
      connection.disconnect();
    }
  }
}
