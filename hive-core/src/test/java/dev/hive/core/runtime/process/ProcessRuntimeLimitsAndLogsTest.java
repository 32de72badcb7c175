package dev.hive.core.runtime.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.WorkloadStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the process runtime does beyond the kit: cgroup limits, bounded logs, whole-session stops. */
class ProcessRuntimeLimitsAndLogsTest {
  @TempDir Path dir;
  private final String id = "limits-" + UUID.randomUUID().toString().substring(0, 8);
  private WorkloadRuntime runtime;

  private WorkloadRuntime open(Map<String, String> settings) {
    runtime = new ProcessRuntimeProvider().create(new ProviderConfig(dir, "hive", "n1", Clock.systemUTC(), settings));
    return runtime;
  }

  @AfterEach
  void removeWorkload() {
    runtime.remove(id);
    runtime.close();
  }

  @Test
  void limitsAreEnforcedThroughCgroupsOrTheCapabilitySaysWhyNot() throws Exception {
    open(Map.of());
    WorkloadStatus status = runtime.start(WorkloadSpec.builder(id).command("sleep 600").cpus(0.5).memoryBytes(64L << 20).build());
    long pid = status.pid().orElseThrow();
    CgroupLimits probe = CgroupLimits.detect(Path.of("/sys/fs/cgroup"), "hive");
    assertThat(runtime.capabilities().resourceLimits()).isEqualTo(probe.available());
    assertThat(runtime.capabilities().resourceLimitsNote()).isNotBlank();
    if (!probe.available()) {
      return; // The flag and its note are the contract here; there is nothing to enforce with.
    }
    // The shell joins its groups itself, before it execs the program.
    for (Path group : probe.groups(id)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> Files.readAllLines(group.resolve("cgroup.procs")).contains(Long.toString(pid)));
    }
    Path memory = probe.groups(id).get(probe.groups(id).size() - 1);
    Path limitFile = Files.exists(memory.resolve("memory.max")) ? memory.resolve("memory.max") : memory.resolve("memory.limit_in_bytes");
    assertThat(Files.readString(limitFile).trim()).isEqualTo(Long.toString(64L << 20));
    runtime.remove(id);
    assertThat(probe.groups(id)).allMatch(g -> !Files.exists(g));
  }

  @Test
  void logsAreRotatedOnceTheyPassTheLimit() {
    open(Map.of("hive.process.max-log-bytes", "20000", "hive.process.housekeeping", "100ms"));
    runtime.start(WorkloadSpec.builder(id).command("i=0; while [ $i -lt 4000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; exec sleep 600").build());
    Path log = dir.resolve("logs").resolve(id + ".log");
    await().atMost(Duration.ofSeconds(30)).until(() -> runtime.logs(id, 1).equals(List.of("line-3999-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")));
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.size(log) <= 20000 && Files.exists(dir.resolve("logs").resolve(id + ".log.1")));
    assertThat(runtime.logs(id, 3)).containsExactly(
        "line-3997-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "line-3998-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "line-3999-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  }

  @Test
  void stoppingAWorkloadEndsEveryProcessItStarted() {
    open(Map.of());
    runtime.start(WorkloadSpec.builder(id).command("sleep 600 & sleep 600 & wait").build());
    long pid = runtime.inspect(id).orElseThrow().pid().orElseThrow();
    await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid).map(h -> h.children().count()).orElse(0L) == 2);
    List<ProcessHandle> children = ProcessHandle.of(pid).orElseThrow().children().toList();
    runtime.stop(id, Duration.ofSeconds(5));
    await().atMost(Duration.ofSeconds(10)).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
  }

  @Test
  void killingTheMainProcessTakesItsSessionWithIt() {
    open(Map.of());
    runtime.start(WorkloadSpec.builder(id).command("sleep 600 & sleep 600 & wait").build());
    long pid = runtime.inspect(id).orElseThrow().pid().orElseThrow();
    await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid).map(h -> h.children().count()).orElse(0L) == 2);
    List<ProcessHandle> children = ProcessHandle.of(pid).orElseThrow().children().toList();
    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(10)).until(() -> runtime.inspect(id).orElseThrow().state() == WorkloadStatus.State.EXITED);
    await().atMost(Duration.ofSeconds(10)).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
  }

  @Test
  void aRecordWhosePidNowBelongsToAnotherProcessIsNotAdopted() throws Exception {
    open(Map.of());
    long pid = runtime.start(WorkloadSpec.builder(id).command("sleep 600").build()).pid().orElseThrow();
    runtime.close();
    // Pretend the kernel gave the pid to a new process: same pid, another start time.
    Path record = dir.resolve("workloads").resolve(id + ".json");
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode tree = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(record.toFile());
    tree.put("processStartMillis", tree.get("processStartMillis").asLong() - 60_000);
    json.writeValue(record.toFile(), tree);
    try {
      open(Map.of());
      WorkloadStatus status = runtime.inspect(id).orElseThrow();
      assertThat(status.state()).isEqualTo(WorkloadStatus.State.EXITED);
      assertThat(status.reason()).contains("ended while no agent watched it");
    } finally {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  /** Stands for the SIGKILL of the agent at the point where it throws. */
  private static final class AgentKilled extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }

  @Test
  void aProcessWhoseAgentWasKilledBeforeItRecordedThePidIsAdoptedByTheNextAgent() {
    open(Map.of());
    // A marker in its command line, to kill it even where no agent finds it.
    String seconds = "600." + System.nanoTime() % 1_000_000;
    ((ProcessRuntime) runtime).afterSpawn = () -> {
      throw new AgentKilled();
    };
    try {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> runtime.start(WorkloadSpec.builder(id).command("sleep " + seconds).label("app", "a").build()))
          .isInstanceOf(AgentKilled.class);
      runtime.close();
      open(Map.of());
      // The process the first agent started is this agent's to stop, and nothing else runs.
      List<WorkloadStatus> listed = runtime.list(Map.of("app", "a"));
      assertThat(listed).as("the workload whose start the killed agent did not record").hasSize(1);
      WorkloadStatus status = listed.get(0);
      assertThat(status.state()).isEqualTo(WorkloadStatus.State.RUNNING);
      long pid = status.pid().orElseThrow();
      assertThat(ProcessHandle.of(pid).orElseThrow().info().commandLine().orElse("")).contains(seconds);
      runtime.stop(id, Duration.ofSeconds(5));
      assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEmpty();
    } finally {
      ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("sleep " + seconds)).forEach(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void aStartThatNeverReachedTheKernelLeavesAnEndedRecord() throws Exception {
    open(Map.of());
    runtime.start(WorkloadSpec.builder(id).command("sleep 600").build());
    runtime.stop(id, Duration.ofSeconds(5));
    runtime.close();
    // What an agent killed after writing the record but before the process started leaves.
    Path record = dir.resolve("workloads").resolve(id + ".json");
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode tree = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(record.toFile());
    tree.put("pid", 0).put("running", true).put("launch", UUID.randomUUID().toString());
    json.writeValue(record.toFile(), tree);
    open(Map.of());
    WorkloadStatus status = runtime.inspect(id).orElseThrow();
    assertThat(status.state()).isEqualTo(WorkloadStatus.State.EXITED);
    assertThat(status.reason()).contains("stopped while starting it");
  }
}
