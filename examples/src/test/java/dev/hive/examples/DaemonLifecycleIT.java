package dev.hive.examples;

import dev.hive.examples.harness.DaemonProcess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The foundation's promise end to end: a daemon started from hive.jar runs real processes, heals
 * them, scales them, and after being killed with SIGKILL comes back on the same data dir and
 * adopts the survivors without starting duplicates.
 */
class DaemonLifecycleIT {
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private final ObjectMapper mapper = new ObjectMapper();
  private final String mark = "IT_MARK=" + UUID.randomUUID();

  @TempDir Path dir;
  private DaemonProcess daemon;

  @AfterEach
  void cleanUp() throws Exception {
    if (daemon != null) {
      daemon.cli("app", "rm", "--name", "web");
      daemon.close();
    }
    DaemonProcess.killAll(DaemonProcess.livePidsWithEnv(mark));
  }

  private JsonNode containers() throws Exception {
    DaemonProcess.CliResult r = daemon.cli("app", "containers", "--name", "web", "--output", "json");
    assertThat(r.code()).as(r.err()).isZero();
    return mapper.readTree(r.out());
  }

  private boolean allHealthy(JsonNode instances, int count) {
    if (instances.size() != count) {
      return false;
    }
    for (JsonNode i : instances) {
      if (!i.path("healthy").asBoolean() || !i.path("state").asText().equals("HEALTHY")) {
        return false;
      }
    }
    return true;
  }

  private JsonNode awaitHealthy(int count) {
    JsonNode[] last = new JsonNode[1];
    await().atMost(PATIENCE).ignoreExceptions().until(() -> {
      last[0] = containers();
      return allHealthy(last[0], count);
    });
    return last[0];
  }

  private static Set<Long> pids(JsonNode instances) {
    Set<Long> pids = new TreeSet<>();
    instances.forEach(i -> pids.add(i.path("pid").asLong()));
    return pids;
  }

  private static int httpStatus(int port) throws Exception {
    HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/").toURL().openConnection();
    c.setConnectTimeout(1000);
    c.setReadTimeout(2000);
    try {
      return c.getResponseCode();
    } finally {
      c.disconnect();
    }
  }

  @Test
  void deployHealScaleAndSurviveADaemonKill() throws Exception {
    Path data = dir.resolve("node");
    daemon = new DaemonProcess(data).start();

    // Three processes, all HEALTHY, each answering HTTP on its own host port.
    DaemonProcess.CliResult deploy =
        daemon.cli("app", "deploy", "--name", "web", "--command", "python3 -m http.server $PORT --bind 127.0.0.1", "--port", "8080",
            "--replicas", "3", "--health-http", "/", "--env", mark);
    assertThat(deploy.code()).as(deploy.err()).isZero();
    JsonNode three = awaitHealthy(3);
    for (JsonNode i : three) {
      assertThat(i.path("id").asText()).startsWith("web-");
      assertThat(i.path("app").asText()).isEqualTo("web");
      assertThat(i.path("node").asText()).startsWith("node-");
      assertThat(i.path("restarts").asInt()).isZero();
      assertThat(i.path("hostPorts")).hasSize(1);
      assertThat(httpStatus(i.path("hostPorts").get(0).asInt())).isEqualTo(200);
    }
    assertThat(DaemonProcess.livePidsWithEnv(mark)).isEqualTo(pids(three));

    // SIGKILL one instance's process: it is HEALTHY again soon after, and `restarts` counts it.
    JsonNode victim = three.get(1);
    long killedPid = victim.path("pid").asLong();
    ProcessHandle.of(killedPid).orElseThrow().destroyForcibly();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> {
      JsonNode now = containers();
      return allHealthy(now, 3)
          && findById(now, victim.path("id").asText()).path("restarts").asInt() == 1
          && findById(now, victim.path("id").asText()).path("pid").asLong() != killedPid;
    });
    assertThat(DaemonProcess.livePidsWithEnv(mark)).hasSize(3).doesNotContain(killedPid);

    // Scale to 5, then to 1: exactly that many processes remain.
    assertThat(daemon.cli("app", "scale", "--name", "web", "--replicas", "5").code()).isZero();
    JsonNode five = awaitHealthy(5);
    assertThat(DaemonProcess.livePidsWithEnv(mark)).isEqualTo(pids(five));
    assertThat(daemon.cli("app", "scale", "--name", "web", "--replicas", "1").code()).isZero();
    await().atMost(PATIENCE).until(() -> DaemonProcess.livePidsWithEnv(mark).size() == 1);
    JsonNode one = awaitHealthy(1);
    assertThat(DaemonProcess.livePidsWithEnv(mark)).isEqualTo(pids(one));

    // SIGKILL the daemon and start it again on the same data dir: the app is back, the
    // surviving processes are adopted, and there are still exactly the desired number.
    assertThat(daemon.cli("app", "scale", "--name", "web", "--replicas", "3").code()).isZero();
    JsonNode beforeKill = awaitHealthy(3);
    Set<Long> survivors = pids(beforeKill);
    daemon.kill();
    assertThat(DaemonProcess.livePidsWithEnv(mark)).isEqualTo(survivors);
    daemon.start();
    JsonNode afterRestart = awaitHealthy(3);
    assertThat(pids(afterRestart)).isEqualTo(survivors);
    List<String> ids = new ArrayList<>();
    beforeKill.forEach(i -> ids.add(i.path("id").asText()));
    afterRestart.forEach(i -> assertThat(ids).contains(i.path("id").asText()));
    assertThat(DaemonProcess.livePidsWithEnv(mark)).isEqualTo(survivors);
    JsonNode apps = mapper.readTree(daemon.cli("app", "ls", "--output", "json").out());
    assertThat(apps).hasSize(1);
    assertThat(apps.get(0).path("replicas").asInt()).isEqualTo(3);

    // Removing the app stops every process it had.
    assertThat(daemon.cli("app", "rm", "--name", "web").code()).isZero();
    await().atMost(PATIENCE).until(() -> DaemonProcess.livePidsWithEnv(mark).isEmpty());
  }

  private static JsonNode findById(JsonNode instances, String id) {
    for (JsonNode i : instances) {
      if (i.path("id").asText().equals(id)) {
        return i;
      }
    }
    throw new AssertionError("no instance " + id + " in " + instances);
  }
}
