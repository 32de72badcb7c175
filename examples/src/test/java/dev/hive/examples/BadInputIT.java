package dev.hive.examples;

import dev.hive.examples.harness.DaemonProcess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad input to the CLI and the API is refused with a clear message, and nothing is written. */
class BadInputIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** The daemon's data dir; JUnit deletes it after the class. */
  @org.junit.jupiter.api.io.TempDir static Path dir;
  private static DaemonProcess daemon;

  @BeforeAll
  static void startDaemon() throws IOException {
    daemon = new DaemonProcess(dir.resolve("node")).start();
  }

  @AfterAll
  static void stopDaemon() throws Exception {
    daemon.cli("app", "rm", "--name", "ghost");
    daemon.cli("app", "rm", "--name", "twice");
    daemon.close();
  }

  private static JsonNode apps() throws IOException {
    CliResult r = daemon.cli("app", "ls", "--output", "json");
    assertThat(r.code()).as(r.err()).isZero();
    return MAPPER.readTree(r.out());
  }

  private static void assertRefused(CliResult r, int code, String... inMessage) throws IOException {
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(code);
    assertThat(r.err()).startsWith("error: ").contains(inMessage);
    assertThat(r.err().strip().lines()).as("one line").hasSize(1);
    assertThat(apps()).as("nothing written").noneMatch(a -> a.path("name").asText().equals("bad"));
  }

  @Test
  void aDeployWithoutANameIsRefused() throws IOException {
    assertRefused(daemon.cli("app", "deploy", "--command", "sleep 100"), 2, "--name");
  }

  @Test
  void negativeReplicasAreRefused() throws IOException {
    assertRefused(daemon.cli("app", "deploy", "--name", "bad", "--command", "sleep 100", "--replicas", "-1"), 1, "replicas", "-1");
    assertRefused(daemon.cli("app", "scale", "--name", "nope", "--replicas", "2"), 1, "no app named 'nope'");
  }

  @Test
  void anUnknownRuntimeIsRefused() throws IOException {
    assertRefused(daemon.cli("app", "deploy", "--name", "bad", "--command", "sleep 100", "--runtime", "nope"), 1, "runtime", "nope", "process");
  }

  @Test
  void aPortOutOfRangeIsRefused() throws IOException {
    assertRefused(daemon.cli("app", "deploy", "--name", "bad", "--command", "sleep 100", "--port", "70000"), 1, "port", "1..65535");
  }

  @Test
  void malformedEnvAndBadNamesAreRefused() throws IOException {
    assertRefused(daemon.cli("app", "deploy", "--name", "bad", "--command", "sleep 100", "--env", "NOEQUALS"), 1, "KEY=VALUE");
    assertRefused(daemon.cli("app", "deploy", "--name", "Bad_Name", "--command", "sleep 100"), 1, "name");
    assertRefused(daemon.cli("app", "deploy", "--name", "bad", "--command", "sleep 100", "--memory", "lots"), 1, "memory");
  }

  @Test
  void aCommandThatDoesNotExistFailsWithTheReasonInContainerInfo() throws IOException {
    CliResult deploy = daemon.cli("app", "deploy", "--name", "ghost", "--command", "no-such-program-hive --serve", "--restart", "never");
    assertThat(deploy.code()).as(deploy.err()).isZero();
    String[] id = new String[1];
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      JsonNode instances = MAPPER.readTree(daemon.cli("app", "containers", "--name", "ghost", "--output", "json").out());
      if (instances.size() == 1 && instances.get(0).path("state").asText().equals("FAILED")) {
        id[0] = instances.get(0).path("id").asText();
        return true;
      }
      return false;
    });
    CliResult info = daemon.cli("app", "container-info", "--container-id", id[0], "--output", "json");
    JsonNode detail = MAPPER.readTree(info.out());
    assertThat(detail.path("state").asText()).isEqualTo("FAILED");
    assertThat(detail.path("healthy").asBoolean()).isFalse();
    assertThat(detail.path("reason").asText()).contains("no-such-program-hive").contains("not found");
    CliResult table = daemon.cli("app", "container-info", "--container-id", id[0]);
    assertThat(table.out()).contains("reason: cannot start: program 'no-such-program-hive' not found");
  }

  @Test
  void deployingTheSameNameTwiceIsAConflict() throws IOException {
    assertThat(daemon.cli("app", "deploy", "--name", "twice", "--command", "sleep 100", "--replicas", "0").code()).isZero();
    CliResult again = daemon.cli("app", "deploy", "--name", "twice", "--command", "sleep 5", "--replicas", "0");
    assertThat(again.code()).isEqualTo(1);
    assertThat(again.err()).contains("already exists");
    JsonNode twice = MAPPER.readTree(daemon.cli("app", "ls", "--output", "json").out());
    assertThat(twice).filteredOn(a -> a.path("name").asText().equals("twice")).singleElement().satisfies(a -> assertThat(a.path("command").asText()).isEqualTo("sleep 100"));
  }

  @Test
  void theApiAnswersMalformedJsonAndUnknownFieldsWithA400NamingTheField() throws IOException {
    JsonNode malformed = post("/api/v1/apps", "{\"name\": \"bad\", ", 400);
    assertThat(malformed.path("field").asText()).isEqualTo("body");
    assertThat(malformed.path("error").asText()).contains("malformed JSON");
    JsonNode unknown = post("/api/v1/apps", "{\"name\": \"bad\", \"command\": \"sleep 1\", \"replicaz\": 2}", 400);
    assertThat(unknown.path("field").asText()).isEqualTo("replicaz");
    JsonNode wrongType = post("/api/v1/apps", "{\"name\": \"bad\", \"command\": \"sleep 1\", \"replicas\": \"two\"}", 400);
    assertThat(wrongType.path("field").asText()).isEqualTo("replicas");
    JsonNode scale = post("/api/v1/apps/twice-not-there/scale", "{\"replicas\": 1}", 404);
    assertThat(scale.path("error").asText()).contains("no app named");
    assertThat(apps()).noneMatch(a -> a.path("name").asText().equals("bad"));
  }

  @Test
  void unknownInstancesAndUnreachableApisAreClearErrors() throws IOException {
    assertRefused(daemon.cli("app", "container-info", "--container-id", "web-9-nothere"), 1, "no instance 'web-9-nothere'");
    CliResult unreachable = DaemonProcess.run("--api", "http://127.0.0.1:1", "app", "ls");
    assertThat(unreachable.code()).isEqualTo(1);
    assertThat(unreachable.err()).contains("cannot reach the Hive API at http://127.0.0.1:1");
    CliResult badUrl = DaemonProcess.run("--api", "not a url", "app", "ls");
    assertThat(badUrl.code()).isEqualTo(1);
    assertThat(badUrl.err()).contains("--api");
  }

  @Test
  void healthAndNodeCommandsAnswer() throws IOException {
    CliResult health = daemon.cli("health");
    assertThat(health.code()).as(health.err()).isZero();
    assertThat(health.out()).startsWith("healthy");
    JsonNode nodes = MAPPER.readTree(daemon.cli("node", "ls", "--output", "json").out());
    assertThat(nodes).hasSize(1);
    JsonNode info = MAPPER.readTree(daemon.cli("node", "info", "--output", "json").out());
    assertThat(info.path("details").path("cpus").asInt()).isPositive();
    assertThat(info.path("details").path("runtimes").get(0).path("name").asText()).isEqualTo("process");
  }

  @Test
  void aWriteWithARequestIdAppliesOnceAndAReusedIdForAnotherWriteIsAConflict() throws IOException {
    CliResult first = daemon.cli("--request-id", "deploy-once-1", "app", "deploy", "--name", "once", "--command", "sleep 100", "--replicas", "0");
    assertThat(first.code()).as(first.err()).isZero();
    // The same write sent again (a client retrying after a lost answer): the first outcome, not a conflict.
    CliResult retry = daemon.cli("--request-id", "deploy-once-1", "app", "deploy", "--name", "once", "--command", "sleep 100", "--replicas", "0");
    assertThat(retry.code()).as(retry.err()).isZero();
    JsonNode status = MAPPER.readTree(daemon.cli("--output", "json", "command", "status", "deploy-once-1").out());
    assertThat(status.path("state").asText()).isEqualTo("APPLIED");
    assertThat(status.path("logIndex").asLong()).isPositive();
    // The key reused for another write: 409 naming the key, and nothing written.
    JsonNode reused = post("/api/v1/apps", "{\"name\": \"bad\", \"command\": \"sleep 1\"}", 409, "deploy-once-1");
    assertThat(reused.path("error").asText()).contains("request id 'deploy-once-1' was already used for a different request");
    assertThat(apps()).noneMatch(a -> a.path("name").asText().equals("bad"));
    assertThat(daemon.cli("app", "rm", "--name", "once").code()).isZero();
    // An id never seen: 404; an id that cannot be one: 400 naming the header.
    assertRefused(daemon.cli("command", "status", "never-sent-42"), 1, "no command with request id 'never-sent-42'");
    JsonNode badKey = post("/api/v1/apps", "{\"name\": \"bad\", \"command\": \"sleep 1\"}", 400, "has spaces");
    assertThat(badKey.path("field").asText()).isEqualTo("Idempotency-Key");
  }

  private static JsonNode post(String path, String body, int expectedStatus) throws IOException {
    return post(path, body, expectedStatus, null);
  }

  private static JsonNode post(String path, String body, int expectedStatus, String idempotencyKey) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(daemon.api() + path).toURL().openConnection();
    if (idempotencyKey != null) {
      c.setRequestProperty("Idempotency-Key", idempotencyKey);
    }
    c.setRequestMethod("POST");
    c.setDoOutput(true);
    c.setRequestProperty("Content-Type", "application/json");
    try (OutputStream out = c.getOutputStream()) {
      out.write(body.getBytes(StandardCharsets.UTF_8));
    }
    assertThat(c.getResponseCode()).isEqualTo(expectedStatus);
    try (InputStream in = c.getErrorStream() != null ? c.getErrorStream() : c.getInputStream()) {
      return MAPPER.readTree(in);
    }
  }
}
