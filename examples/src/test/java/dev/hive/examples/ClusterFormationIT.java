package dev.hive.examples;

import dev.hive.examples.harness.DaemonProcess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three daemons started from hive.jar as separate processes on loopback, each told one seed:
 * they form one cluster with one leader, share one state, survive the leader's SIGKILL, and turn
 * away a node without the token.
 */
class ClusterFormationIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration PATIENCE = Duration.ofSeconds(90);
  private final String mark = "IT_MARK=" + UUID.randomUUID();
  private final List<DaemonProcess> daemons = new ArrayList<>();

  /** Under target/, not a temporary directory: the daemons' logs stay readable after a failure. */
  private final Path dir = Path.of("target", "cluster-it", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();

  @org.junit.jupiter.api.BeforeEach
  void createDir() throws IOException {
    Files.createDirectories(dir);
  }

  @AfterEach
  void stopAll() throws Exception {
    for (DaemonProcess d : daemons) {
      d.close();
    }
    DaemonProcess.killAll(DaemonProcess.livePidsWithEnv(mark));
  }

  private JsonNode nodes(DaemonProcess d) throws IOException {
    CliResult r = d.cli("node", "ls", "--output", "json");
    assertThat(r.code()).as(r.err()).isZero();
    return MAPPER.readTree(r.out());
  }

  private static long count(JsonNode nodes, String field, String value) {
    long n = 0;
    for (JsonNode node : nodes) {
      if (node.path(field).asText().equals(value)) {
        n++;
      }
    }
    return n;
  }

  private List<DaemonProcess> threeNodeCluster() throws Exception {
    DaemonProcess first = new DaemonProcess(dir.resolve("n1"), "--node-name", "n1").start();
    daemons.add(first);
    String token = first.cli("cluster", "token").out().strip();
    assertThat(token).startsWith("hive-");
    DaemonProcess second = new DaemonProcess(dir.resolve("n2"), "--node-name", "n2", "--seeds", first.clusterAddress(), "--token", token);
    daemons.add(second.start());
    DaemonProcess third = new DaemonProcess(dir.resolve("n3"), "--node-name", "n3", "--seeds", second.clusterAddress(), "--token", token);
    daemons.add(third.start());
    for (DaemonProcess d : daemons) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> {
        JsonNode nodes = nodes(d);
        // Joiners come in as members and are promoted to voters one at a time.
        return nodes.size() == 3 && count(nodes, "state", "ALIVE") == 3 && count(nodes, "role", "LEADER") == 1
            && count(nodes, "role", "SERVER") == 2;
      });
    }
    return daemons;
  }

  @Test
  void threeDaemonsFormOneClusterShareOneStateAndSurviveTheirLeader() throws Exception {
    threeNodeCluster();
    JsonNode view = nodes(daemons.get(0));
    for (JsonNode node : view) {
      assertThat(node.path("id").asText()).isNotEmpty();
      assertThat(node.path("name").asText()).isIn("n1", "n2", "n3");
      assertThat(node.path("address").asText()).isEqualTo("127.0.0.1");
      assertThat(node.path("cpus").asDouble()).isPositive();
      assertThat(node.path("memoryBytes").asLong()).isPositive();
      assertThat(node.path("lastSeen").asText()).isNotEmpty();
    }
    // Every node gives the same answer.
    Set<String> leaders = new HashSet<>();
    for (DaemonProcess d : daemons) {
      JsonNode nodes = nodes(d);
      for (JsonNode n : nodes) {
        if (n.path("role").asText().equals("LEADER")) {
          leaders.add(n.path("name").asText());
        }
      }
    }
    assertThat(leaders).hasSize(1);

    // An app deployed through one node is visible from all, its instances spread over them.
    CliResult deploy = daemons.get(2).cli("app", "deploy", "--name", "web", "--command", "python3 -m http.server $PORT --bind 127.0.0.1",
        "--port", "8080", "--replicas", "3", "--health-http", "/", "--env", mark, "--strategy", "spread");
    assertThat(deploy.code()).as(deploy.err()).isZero();
    for (DaemonProcess d : daemons) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> {
        JsonNode instances = MAPPER.readTree(d.cli("app", "containers", "--output", "json").out());
        return instances.size() == 3 && count(instances, "state", "HEALTHY") == 3;
      });
    }
    JsonNode spread = MAPPER.readTree(daemons.get(0).cli("app", "containers", "--output", "json").out());
    Set<String> nodesWithInstances = new HashSet<>();
    spread.forEach(i -> nodesWithInstances.add(i.path("node").asText()));
    assertThat(nodesWithInstances).hasSize(3);

    // SIGKILL the leader: the survivors elect another, mark it DEAD, and take writes again.
    String leader = leaders.iterator().next();
    DaemonProcess leaderProcess = daemons.get(Integer.parseInt(leader.substring(1)) - 1);
    leaderProcess.kill();
    List<DaemonProcess> survivors = new ArrayList<>(daemons);
    survivors.remove(leaderProcess);
    for (DaemonProcess d : survivors) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> {
        JsonNode nodes = nodes(d);
        JsonNode dead = null;
        for (JsonNode n : nodes) {
          if (n.path("name").asText().equals(leader)) {
            dead = n;
          }
        }
        return dead != null && dead.path("state").asText().equals("DEAD") && count(nodes, "role", "LEADER") == 1
            && !dead.path("role").asText().equals("LEADER");
      });
    }
    await().atMost(PATIENCE).until(() -> survivors.get(0).cli("app", "scale", "--name", "web", "--replicas", "2").code() == 0);
    await().atMost(PATIENCE).ignoreExceptions().until(() ->
        MAPPER.readTree(survivors.get(1).cli("app", "ls", "--output", "json").out()).get(0).path("replicas").asInt() == 2);
  }

  @Test
  void aNodeWithAWrongOrMissingTokenCannotJoinAndSaysWhy() throws Exception {
    DaemonProcess first = new DaemonProcess(dir.resolve("n1"), "--node-name", "n1").start();
    daemons.add(first);
    CliResult wrong = new DaemonProcess(dir.resolve("wrong"), "--seeds", first.clusterAddress(), "--token", "not-the-token-0123456789")
        .startExpectingFailure(Duration.ofSeconds(60));
    assertThat(wrong.code()).isNotZero();
    assertThat(wrong.out()).contains("error: ").contains("join token is wrong");
    CliResult missing = new DaemonProcess(dir.resolve("missing"), "--seeds", first.clusterAddress()).startExpectingFailure(Duration.ofSeconds(60));
    assertThat(missing.code()).isNotZero();
    assertThat(missing.out()).contains("no join token").contains("hive cluster token");
    // Neither got a certificate, nor a place in the cluster.
    assertThat(Files.exists(dir.resolve("wrong/tls/node.crt"))).isFalse();
    assertThat(nodes(first)).hasSize(1);
  }

  @Test
  void badStartsAreClearErrorsAndDoNotLoop() throws Exception {
    CliResult unreachable = new DaemonProcess(dir.resolve("lonely"), "--seeds", "127.0.0.1:1", "--token", "some-token-0123456789abc",
        "--setting", "hive.join.timeout=3s").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(unreachable.code()).isNotZero();
    assertThat(unreachable.out()).contains("error: no seed admitted this node").contains("127.0.0.1:1");

    DaemonProcess first = new DaemonProcess(dir.resolve("n1")).start();
    daemons.add(first);
    DaemonProcess clash = new DaemonProcess(dir.resolve("clash"));
    CliResult inUse;
    try (java.net.ServerSocket taken = new java.net.ServerSocket(clash.clusterPort, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      inUse = clash.startExpectingFailure(Duration.ofSeconds(60));
    }
    assertThat(inUse.code()).isNotZero();
    assertThat(inUse.out()).contains("in use");

    first.kill();
    Files.writeString(dir.resolve("n1/tls/node.crt"), "garbage");
    CliResult corrupted = new DaemonProcess(dir.resolve("n1")).startExpectingFailure(Duration.ofSeconds(60));
    assertThat(corrupted.code()).isNotZero();
    assertThat(corrupted.out()).contains("node.crt").contains("corrupted");
  }
}
