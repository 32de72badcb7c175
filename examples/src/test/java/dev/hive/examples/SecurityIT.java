package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import dev.hive.spi.kit.RequiredRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two daemons from hive.jar, tried as another user of the host would try them (as {@code nobody},
 * through {@code setpriv}): the join token and the API's admin token are in no process's command
 * line, no log line and no workload's environment; no file of a data dir is readable by another
 * user; the CLI run by another user needs a token and gets only what its role allows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecurityIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final String mark = "SECURITY_IT=" + UUID.randomUUID();
  private final List<DaemonProcess> daemons = new ArrayList<>();
  /** Open to every user down to the data dirs, as /var/lib or a home is: only Hive's own modes may keep others out. */
  private Path dir;
  private Path jar;
  private DaemonProcess first;
  private DaemonProcess second;
  private String joinToken;
  private String adminToken;

  @BeforeAll
  void startTwoNodes() throws Exception {
    boolean root = ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    RequiredRuntime.require("root with setpriv, to act as the user nobody", root && Files.isExecutable(Path.of("/usr/bin/setpriv")),
        "run the integration tests as root (scripts/setup-host.sh installs util-linux's setpriv)");
    dir = Files.createTempDirectory("hive-security-it");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    jar = dir.resolve("hive.jar");
    Files.copy(DaemonProcess.HIVE_JAR, jar, StandardCopyOption.REPLACE_EXISTING);
    Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));

    first = new DaemonProcess(dir.resolve("n1"), "--node-name", "n1").start();
    daemons.add(first);
    joinToken = first.cli("cluster", "token").out().strip();
    assertThat(joinToken).startsWith("hive-");
    adminToken = Files.readString(dir.resolve("n1").resolve("api-token")).strip();
    assertThat(adminToken).startsWith("hive_");
    // DaemonProcess hands --token to the daemon as $HIVE_JOIN_TOKEN.
    second = new DaemonProcess(dir.resolve("n2"), "--node-name", "n2", "--seeds", first.clusterAddress(), "--token", joinToken).start();
    daemons.add(second);
    await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
      JsonNode nodes = MAPPER.readTree(first.cli("node", "ls", "--output", "json").out());
      return nodes.size() == 2 && nodes.findValuesAsText("state").stream().allMatch("ALIVE"::equals);
    });
  }

  @AfterAll
  void stopAll() throws Exception {
    for (DaemonProcess d : daemons) {
      d.close();
    }
    DaemonProcess.killAll(DaemonProcess.livePidsWithEnv(mark));
    if (dir != null) {
      try (Stream<Path> all = Files.walk(dir)) {
        all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Runs a command as nobody:nogroup with {@code env} added; returns its exit code and output. */
  private static CliResult asNobody(Map<String, String> env, String... command) throws Exception {
    List<String> argv = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"));
    argv.addAll(List.of(command));
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().remove(ApiTokenEnv.NAME);
    pb.environment().put("HOME", "/nonexistent");
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new CliResult(p.exitValue(), out, err);
  }

  /** The hive CLI, run by nobody from a copy of hive.jar it can read. */
  private CliResult cliAsNobody(Map<String, String> env, String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(),
        "--api", first.api()));
    argv.addAll(List.of(args));
    return asNobody(env, argv.toArray(String[]::new));
  }

  private static final class ApiTokenEnv {
    static final String NAME = "HIVE_API_TOKEN";
  }

  @Test
  void noOtherUserCanReadAKeyATokenOrTheStore() throws Exception {
    for (String node : List.of("n1", "n2")) {
      Path data = dir.resolve(node);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data))).as(data.toString()).isEqualTo("rwx------");
      for (String secret : List.of("tls/node.key", "tls/token", "store/hive.db")) {
        Path file = data.resolve(secret);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).as(file.toString()).isEqualTo("rw-------");
      }
      CliResult readable = asNobody(Map.of(), "/usr/bin/find", data.toString(), "-readable");
      assertThat(readable.out()).as("what nobody can read under " + data).isEmpty();
      assertThat(asNobody(Map.of(), "/bin/cat", data.resolve("tls").resolve("node.key").toString()).err()).contains("Permission denied");
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("n1").resolve("tls").resolve("ca.key")))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("n1").resolve("api-token")))).isEqualTo("rw-------");
  }

  @Test
  void theCliOfAnotherUserNeedsATokenAndGetsOnlyItsRole() throws Exception {
    CliResult anonymous = cliAsNobody(Map.of(), "app", "ls");
    assertThat(anonymous.code()).as(anonymous.out()).isEqualTo(1);
    assertThat(anonymous.err()).contains("needs a token").contains("--api-token");

    CliResult created = first.cli("token", "create", "--name", "viewer", "--role", "read", "--ttl", "1h");
    assertThat(created.code()).as(created.err()).isZero();
    String viewer = created.out().strip();
    assertThat(viewer).startsWith("hive_");

    CliResult listed = cliAsNobody(Map.of(ApiTokenEnv.NAME, viewer), "app", "ls", "--output", "json");
    assertThat(listed.code()).as(listed.err()).isZero();
    CliResult deploy = cliAsNobody(Map.of(ApiTokenEnv.NAME, viewer), "app", "deploy", "--name", "by-viewer", "--command", "sleep 300", "--env", mark);
    assertThat(deploy.code()).isEqualTo(1);
    assertThat(deploy.err()).contains("read").contains("operate");
    CliResult admin = cliAsNobody(Map.of(), "--api-token", adminToken, "token", "ls", "--output", "json");
    assertThat(admin.code()).as(admin.err()).isZero();
    assertThat(admin.out()).contains("viewer").contains("bootstrap").doesNotContain(viewer).doesNotContain(adminToken);
    assertThat(first.cli("app", "ls", "--output", "json").out()).doesNotContain("by-viewer");

    assertThat(first.cli("token", "revoke", "viewer").code()).isZero();
    CliResult revoked = cliAsNobody(Map.of(ApiTokenEnv.NAME, viewer), "app", "ls");
    assertThat(revoked.code()).isEqualTo(1);
    assertThat(revoked.err()).contains("not valid").doesNotContain(viewer);
  }

  @Test
  void secretsAreInNoCommandLineLogOrWorkloadEnvironment() throws Exception {
    CliResult deployed = first.cli("app", "deploy", "--name", "env-check", "--command", "sleep 300", "--replicas", "2", "--strategy", "spread",
        "--env", mark);
    assertThat(deployed.code()).as(deployed.err()).isZero();
    await().atMost(Duration.ofSeconds(60)).until(() -> DaemonProcess.livePidsWithEnv(mark).size() == 2);
    for (long pid : DaemonProcess.livePidsWithEnv(mark)) {
      String environ = Files.readString(Path.of("/proc", Long.toString(pid), "environ"), StandardCharsets.ISO_8859_1);
      assertThat(environ).as("workload " + pid + "'s environment").doesNotContain(joinToken).doesNotContain("HIVE_JOIN_TOKEN");
    }

    Process ps = new ProcessBuilder("ps", "-eo", "args").redirectErrorStream(true).start();
    String commandLines = new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    ps.waitFor(10, TimeUnit.SECONDS);
    assertThat(commandLines).contains("--data-dir " + dir.resolve("n2")).doesNotContain(joinToken).doesNotContain(adminToken);

    List<Path> logs = new ArrayList<>();
    try (Stream<Path> all = Files.walk(dir)) {
      all.filter(p -> p.getFileName().toString().endsWith(".log")).forEach(logs::add);
    }
    assertThat(logs).extracting(p -> p.getFileName().toString()).contains("n1-daemon.log", "n2-daemon.log");
    for (Path log : logs) {
      String text = Files.readString(log, StandardCharsets.ISO_8859_1);
      assertThat(text).as(log.toString()).doesNotContain(joinToken).doesNotContain(adminToken);
    }
    assertThat(Files.readString(dir.resolve("n1-daemon.log"))).contains("api-token").contains("--token-file");
  }

  @Test
  void aBrowserPageCannotDeployEvenOnTheOwnersMachine() throws Exception {
    // curl as the owner (root): the loopback owner needs no token, but Origin and Content-Type still count.
    Process p = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Origin: http://evil.example",
        "-H", "Content-Type: text/plain", "--data-binary", "{\"name\":\"csrf\",\"command\":\"sleep 300\"}", first.api() + "/api/v1/apps").start();
    String code = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(30, TimeUnit.SECONDS);
    assertThat(code).isEqualTo("403");
    assertThat(first.cli("app", "ls", "--output", "json").out()).doesNotContain("csrf");
  }
}
