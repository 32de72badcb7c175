package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hive.examples.harness.ClusterOps;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import dev.hive.spi.kit.RequiredRuntime;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An app of three busybox httpd containers on {@code podman} and on {@code docker}, through the
 * daemon in hive.jar and the CLI: healthy, each answering on its published port, listed by the
 * runtime's own CLI with Hive's labels, restarted after {@code podman kill} from outside, and
 * gone without a trace when the app is removed.
 */
class ContainerAppIT {
  static final String IMAGE = "localhost/busybox:latest";
  private static final Duration PATIENCE = Duration.ofSeconds(90);
  private final String cluster = "cit-" + UUID.randomUUID().toString().substring(0, 8);
  private final Path dir = Path.of("target", "container-it", cluster).toAbsolutePath();
  private DaemonProcess daemon;
  private String runtime;

  @AfterEach
  void removeEverything() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
    if (runtime != null) {
      // Whatever the test left, by its cluster label: nothing of this run may outlive it.
      for (String name : containerCli(runtime, "ps", "-a", "--filter", "label=dev.hive.cluster=" + cluster, "--format", "{{.Names}}")) {
        containerCli(runtime, "rm", "-f", name);
      }
    }
  }

  static boolean cliWorks(String runtime) {
    try {
      Process p = new ProcessBuilder(runtime, "info").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** Runs the runtime's own CLI and returns its output lines. */
  static List<String> containerCli(String runtime, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(runtime));
    command.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
    return out.lines().filter(l -> !l.isBlank()).toList();
  }

  private List<JsonNode> instances(String app, boolean healthyOnly) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode i : ClusterOps.instances(daemon)) {
      if (i.path("app").asText().equals(app) && (!healthyOnly || i.path("healthy").asBoolean())) {
        out.add(i);
      }
    }
    return out;
  }

  private static int httpStatus(int port) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/").toURL().openConnection();
    c.setConnectTimeout(2000);
    c.setReadTimeout(2000);
    try {
      return c.getResponseCode();
    } finally {
      c.disconnect();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"podman", "docker"})
  void threeContainersServeAreListedWithLabelsHealAfterAKillAndLeaveNothingBehind(String runtimeName) throws Exception {
    RequiredRuntime.require(runtimeName, cliWorks(runtimeName), "`" + runtimeName + " info` fails");
    runtime = runtimeName;
    Files.createDirectories(dir);
    daemon = new DaemonProcess(dir.resolve("n1"), "--cluster", cluster).start();

    CliResult deploy = daemon.cli("app", "deploy", "--runtime", runtimeName, "--name", "web", "--image", IMAGE, "--command", "httpd -f -p 8080",
        "--port", "8080", "--replicas", "3", "--health-http", "/");
    assertThat(deploy.code()).as(deploy.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> instances("web", true).size() == 3);
    for (JsonNode i : instances("web", true)) {
      int hostPort = i.path("ports").path("http").asInt(i.path("ports").elements().next().asInt());
      assertThat(httpStatus(hostPort)).as("instance %s on host port %d", i.path("id").asText(), hostPort).isEqualTo(200);
    }

    // The runtime's own view: exactly Hive's three containers, with Hive's labels.
    String format = "{{.Names}} {{.Labels}}";
    List<String> listed = containerCli(runtimeName, "ps", "--filter", "label=dev.hive.cluster=" + cluster, "--format", format);
    assertThat(listed).hasSize(3);
    assertThat(listed).allSatisfy(line -> assertThat(line).contains("dev.hive.app", "web", "dev.hive.slot", "dev.hive.node", "dev.hive.cluster"));

    // Killed from outside: Hive notices and brings the replica back.
    String victim = listed.get(0).split(" ")[0];
    containerCli(runtimeName, "kill", victim);
    await().atMost(PATIENCE).ignoreExceptions().until(() -> instances("web", true).size() == 3
        && instances("web", false).stream().mapToInt(i -> i.path("restarts").asInt()).sum() >= 1);
    assertThat(containerCli(runtimeName, "ps", "--filter", "label=dev.hive.cluster=" + cluster, "--format", "{{.Names}}")).hasSize(3);

    CliResult rm = daemon.cli("app", "rm", "--name", "web");
    assertThat(rm.code()).as(rm.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions()
        .until(() -> containerCli(runtimeName, "ps", "-a", "--filter", "label=dev.hive.cluster=" + cluster, "--format", "{{.Names}}").isEmpty());
  }

  /**
   * dockerd stopped (which stops its containers) and started again under an app of three: while it
   * is down the reconciler leaves the app alone instead of reading "every container vanished",
   * and once it is back the app has three healthy containers again. Sampled every 200 ms while
   * dockerd answers: never more than three containers with the app's label, running or not.
   */
  @org.junit.jupiter.api.Test
  void aDockerDaemonRestartedUnderAnAppOfThreeNeverLeavesMoreThanThreeContainers() throws Exception {
    RequiredRuntime.require("docker", cliWorks("docker"), "`docker info` fails");
    Path pidFile = Path.of("/run/hive-setup/dockerd.pid");
    RequiredRuntime.require("docker", Files.isRegularFile(pidFile), pidFile + " is missing: scripts/setup-containers.sh starts dockerd and writes it");
    runtime = "docker";
    Files.createDirectories(dir);
    daemon = new DaemonProcess(dir.resolve("n1"), "--cluster", cluster).start();
    CliResult deploy = daemon.cli("app", "deploy", "--runtime", "docker", "--name", "web", "--image", IMAGE, "--command", "httpd -f -p 8080",
        "--port", "8080", "--replicas", "3", "--health-http", "/");
    assertThat(deploy.code()).as(deploy.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> instances("web", true).size() == 3);

    java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger samples = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread sampler = new Thread(() -> {
      while (sampling.get()) {
        try {
          int n = containerCli("docker", "ps", "-a", "--filter", "label=dev.hive.cluster=" + cluster, "--format", "{{.Names}}").size();
          most.accumulateAndGet(n, Math::max);
          samples.incrementAndGet();
        } catch (IOException e) {
          // dockerd is down: nothing to count.
        } catch (InterruptedException e) {
          return;
        }
        DaemonProcess.pause(200);
      }
    }, "container-sampler");
    sampler.start();
    try {
      long dockerd = Long.parseLong(Files.readString(pidFile).strip());
      new ProcessBuilder("kill", Long.toString(dockerd)).start().waitFor();
      await().atMost(Duration.ofSeconds(60)).until(() -> ProcessHandle.of(dockerd).isEmpty());
      // Down for a few reconcile passes.
      DaemonProcess.pause(5000);
      Process setup = new ProcessBuilder(repo().resolve("scripts/setup-containers.sh").toString()).redirectErrorStream(true).start();
      String out = new String(setup.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(setup.waitFor()).as(out).isZero();
      await().atMost(PATIENCE).ignoreExceptions().until(() -> instances("web", true).size() == 3);
      await().atMost(PATIENCE).ignoreExceptions()
          .until(() -> containerCli("docker", "ps", "--filter", "label=dev.hive.cluster=" + cluster, "--format", "{{.Names}}").size() == 3);
    } finally {
      sampling.set(false);
      sampler.join();
    }
    System.out.printf("ContainerAppIT: dockerd restarted; at most %d containers with the app's label in %d samples%n", most.get(), samples.get());
    assertThat(most.get()).as("containers with the app's label at any sample").isLessThanOrEqualTo(3);
    for (JsonNode i : instances("web", true)) {
      int hostPort = i.path("ports").path("http").asInt(i.path("ports").elements().next().asInt());
      assertThat(httpStatus(hostPort)).isEqualTo(200);
    }
  }

  private static Path repo() {
    Path p = Path.of("").toAbsolutePath();
    return Files.exists(p.resolve("scripts/setup-containers.sh")) ? p : p.getParent();
  }
}
