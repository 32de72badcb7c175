package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Five daemons from hive.jar on loopback, started with no role: the first three become the
 * servers and the last two clients. Clients run workloads and take writes, which go through a
 * server; when a server is SIGKILLed, writes resume, a client is made a server after following the
 * log stably, and the cluster keeps a majority through the loss of a second server.
 */
class ServersAndClientsIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration PATIENCE = Duration.ofSeconds(120);
  private final String mark = "IT_MARK=" + UUID.randomUUID();
  private final List<DaemonProcess> daemons = new ArrayList<>();
  private final Path dir = Path.of("target", "roles-it", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();

  @BeforeEach
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

  private static JsonNode nodes(DaemonProcess d) throws IOException {
    CliResult r = d.cli("node", "ls", "--output", "json");
    assertThat(r.code()).as(r.err()).isZero();
    return MAPPER.readTree(r.out());
  }

  /** Each node's role by name, as {@code d} sees it, for the nodes it holds ALIVE. */
  private static Map<String, String> aliveRoles(DaemonProcess d) throws IOException {
    Map<String, String> roles = new HashMap<>();
    for (JsonNode n : nodes(d)) {
      if (n.path("state").asText().equals("ALIVE")) {
        roles.put(n.path("name").asText(), n.path("role").asText());
      }
    }
    return roles;
  }

  private static long stateIndex(DaemonProcess d, String path) throws IOException {
    java.net.HttpURLConnection c = (java.net.HttpURLConnection) java.net.URI.create(d.api() + path).toURL().openConnection();
    try {
      assertThat(c.getResponseCode()).isEqualTo(200);
      return Long.parseLong(c.getHeaderField("X-Hive-Index"));
    } finally {
      c.disconnect();
    }
  }

  /** True when {@code server} lists the consensus group as three voters, one of them leading, and no standby. */
  private static boolean threeVoters(DaemonProcess server) throws IOException {
    CliResult r = server.cli("operator", "raft", "list-peers", "--output", "json");
    if (r.code() != 0) {
      return false;
    }
    JsonNode peers = MAPPER.readTree(r.out());
    return peers.size() == 3 && peers.findValues("voter").stream().allMatch(JsonNode::asBoolean)
        && peers.findValues("leader").stream().filter(JsonNode::asBoolean).count() == 1;
  }

  private static long count(Map<String, String> roles, String role) {
    return roles.values().stream().filter(role::equals).count();
  }

  @Test
  void theFirstThreeNodesServeTheOthersFollowAndALostServerIsReplacedByAClient() throws Exception {
    DaemonProcess first = new DaemonProcess(dir.resolve("n1"), "--node-name", "n1").start();
    daemons.add(first);
    String token = first.cli("cluster", "token").out().strip();
    for (int i = 2; i <= 5; i++) {
      daemons.add(new DaemonProcess(dir.resolve("n" + i), "--node-name", "n" + i, "--seeds", first.clusterAddress(), "--token", token).start());
    }
    for (DaemonProcess d : daemons) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> {
        Map<String, String> roles = aliveRoles(d);
        return roles.size() == 5 && count(roles, "LEADER") == 1 && count(roles, "SERVER") == 2 && count(roles, "CLIENT") == 2;
      });
    }
    Map<String, String> roles = aliveRoles(first);
    assertThat(roles).containsEntry("n4", "CLIENT").containsEntry("n5", "CLIENT");
    assertThat(Files.exists(dir.resolve("n5").resolve("raft"))).as("a client holds no Raft state").isFalse();
    await().atMost(PATIENCE).until(() -> threeVoters(first));
    CliResult fromAClient = daemons.get(4).cli("operator", "raft", "list-peers");
    assertThat(fromAClient.code()).isNotZero();
    assertThat(fromAClient.err()).contains("is a client: it holds no consensus configuration; ask a server");
    DaemonProcess client = daemons.get(4);

    // A client takes writes (through a server) and runs instances like any node.
    CliResult deploy = client.cli("app", "deploy", "--name", "web", "--command", "python3 -m http.server $PORT --bind 127.0.0.1",
        "--port", "8080", "--replicas", "5", "--health-http", "/", "--env", mark, "--strategy", "spread");
    assertThat(deploy.code()).as(deploy.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> {
      JsonNode instances = MAPPER.readTree(client.cli("app", "containers", "--output", "json").out());
      long healthy = 0;
      java.util.Set<String> nodes = new java.util.HashSet<>();
      for (JsonNode i : instances) {
        healthy += i.path("state").asText().equals("HEALTHY") ? 1 : 0;
        nodes.add(i.path("node").asText());
      }
      return healthy == 5 && nodes.size() == 5;
    });
    assertThat(client.status("/api/v1/apps?consistent=true")).isEqualTo(200);
    // Reads say which log index they reflect; a current read on a client reflects at least what the leader had.
    long leaderIndex = stateIndex(first, "/api/v1/apps");
    assertThat(stateIndex(client, "/api/v1/apps?consistent=true")).isGreaterThanOrEqualTo(leaderIndex).isPositive();
    CliResult again = client.cli("app", "deploy", "--name", "web", "--command", "sleep 1");
    assertThat(again.code()).isNotZero();
    assertThat(again.err() + again.out()).contains("already exists");

    // SIGKILL the leader: writes through the client resume, and a client becomes the third server.
    String leader = roles.entrySet().stream().filter(e -> e.getValue().equals("LEADER")).findFirst().orElseThrow().getKey();
    DaemonProcess leaderProcess = daemons.get(Integer.parseInt(leader.substring(1)) - 1);
    leaderProcess.kill();
    long killed = System.nanoTime();
    await().atMost(PATIENCE).pollInterval(Duration.ofMillis(100)).until(() -> client.cli("app", "scale", "--name", "web", "--replicas", "4").code() == 0);
    System.out.printf("writes through a client resumed %.1f s after the leader's SIGKILL%n", (System.nanoTime() - killed) / 1e9);
    List<DaemonProcess> alive = new ArrayList<>(daemons);
    alive.remove(leaderProcess);
    // As soon as any node lists a third server, it votes: the client being made a server
    // announced itself a server while it still followed as a listener for 10 s, and the other
    // client listed it a SERVER all that time.
    await().atMost(PATIENCE).pollInterval(Duration.ofMillis(100)).until(() -> alive.stream().anyMatch(d -> {
      try {
        Map<String, String> now = aliveRoles(d);
        return now.size() == 4 && count(now, "LEADER") == 1 && count(now, "SERVER") == 2 && count(now, "CLIENT") == 1;
      } catch (IOException | AssertionError e) {
        return false;
      }
    }));
    assertThat(alive.stream().anyMatch(d -> {
      try {
        return threeVoters(d);
      } catch (IOException e) {
        return false;
      }
    })).as("a node listed as the third server votes").isTrue();
    System.out.printf("a client became the third server %.1f s after the leader's SIGKILL%n", (System.nanoTime() - killed) / 1e9);

    // A write that commits after the group's new configuration commits it too (the log is
    // ordered): until then the old configuration, which has lost one of three, still votes.
    await().atMost(PATIENCE).pollInterval(Duration.ofMillis(100)).until(() -> client.cli("app", "scale", "--name", "web", "--replicas", "5").code() == 0);

    // A second server lost: two of three still make a majority, and writes go on.
    Map<String, String> now = aliveRoles(alive.get(0));
    String server = now.entrySet().stream().filter(e -> e.getValue().equals("SERVER")).findFirst().orElseThrow().getKey();
    DaemonProcess serverProcess = daemons.get(Integer.parseInt(server.substring(1)) - 1);
    serverProcess.kill();
    alive.remove(serverProcess);
    DaemonProcess writer = alive.stream().filter(d -> d != serverProcess).findFirst().orElseThrow();
    await().atMost(PATIENCE).pollInterval(Duration.ofMillis(100)).until(() -> writer.cli("app", "scale", "--name", "web", "--replicas", "3").code() == 0);
    for (DaemonProcess d : alive) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> MAPPER.readTree(d.cli("app", "ls", "--output", "json").out()).get(0).path("replicas").asInt() == 3);
    }
  }

  /**
   * Nodes that hold Raft storage as listeners -- as every node beyond the fifth did before
   * roles -- restarted with no role: the leader, which has its servers, makes them clients; they
   * keep the cluster's state and move their Raft storage aside.
   */
  @Test
  void listenersRestartedWithNoRoleBecomeClientsAndKeepTheState() throws Exception {
    DaemonProcess first = new DaemonProcess(dir.resolve("n1"), "--node-name", "n1", "--servers", "1").start();
    daemons.add(first);
    String token = first.cli("cluster", "token").out().strip();
    for (int i = 2; i <= 3; i++) {
      daemons.add(new DaemonProcess(dir.resolve("n" + i), "--node-name", "n" + i, "--server", "--seeds", first.clusterAddress(), "--token", token)
          .start());
    }
    await().atMost(PATIENCE).ignoreExceptions().until(() -> aliveRoles(first).size() == 3);
    assertThat(Files.isDirectory(dir.resolve("n2").resolve("raft"))).isTrue();
    CliResult deploy = first.cli("app", "deploy", "--name", "kept", "--command", "sleep 600", "--replicas", "2", "--env", mark);
    assertThat(deploy.code()).as(deploy.err()).isZero();

    for (int i = 1; i <= 2; i++) {
      DaemonProcess listener = daemons.get(i);
      listener.kill();
      listener.withArgs("--node-name", "n" + (i + 1), "--seeds", first.clusterAddress(), "--token", token).start();
    }
    for (int i = 2; i <= 3; i++) {
      Path data = dir.resolve("n" + i);
      await().atMost(PATIENCE).ignoreExceptions().until(() -> Files.readString(data.resolve("role")).strip().equals("client")
          && !Files.exists(data.resolve("raft")));
    }
    for (DaemonProcess d : daemons) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> {
        Map<String, String> roles = aliveRoles(d);
        return roles.size() == 3 && count(roles, "LEADER") == 1 && count(roles, "CLIENT") == 2;
      });
      JsonNode apps = MAPPER.readTree(d.cli("app", "ls", "--output", "json").out());
      assertThat(apps.get(0).path("name").asText()).isEqualTo("kept");
    }
    CliResult scale = daemons.get(2).cli("app", "scale", "--name", "kept", "--replicas", "3");
    assertThat(scale.code()).as(scale.err()).isZero();
  }

  @Test
  void aClientCannotFoundAClusterAndBadRoleSettingsSayWhatIsWrong() throws Exception {
    CliResult lonely = new DaemonProcess(dir.resolve("c"), "--client").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(lonely.code()).isNotZero();
    assertThat(lonely.out()).contains("a client follows servers").contains("--seeds");
    CliResult both = new DaemonProcess(dir.resolve("b"), "--client", "--server").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(both.out()).contains("--server and --client exclude each other");
    CliResult four = new DaemonProcess(dir.resolve("f"), "--servers", "4").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(four.out()).contains("--servers 4 is not 1, 3 or 5");
    CliResult setting = new DaemonProcess(dir.resolve("s"), "--setting", "hive.role=boss").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(setting.out()).contains("hive.role is 'boss'");
  }
}
