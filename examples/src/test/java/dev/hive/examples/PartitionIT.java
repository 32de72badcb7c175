package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.consistency.HiveHttp;
import dev.hive.examples.harness.consistency.HiveHttp.Answer;
import dev.hive.examples.harness.consistency.NetnsCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Partitions between hosts in network namespaces: three daemons, one replica each; host 3 is cut
 * off from the others for 30, 60 and then 120 s. Its instance keeps running while the majority
 * clones its slot on its side; 20 writes sent to the cut-off node are each refused or of unknown
 * outcome, and none of them ever applies; within 15 s of each heal every node lists every node
 * ALIVE and holds the majority's state, and every slot has exactly one instance. Needs root:
 * skipped without it, a failure under CI=true.
 */
class PartitionIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final HiveHttp http = new HiveHttp();
  private final String appMark = "PARTITION_IT_APP=" + UUID.randomUUID();

  @TempDir Path dir;

  private static Map<String, Integer> replicas(JsonNode apps) {
    Map<String, Integer> result = new TreeMap<>();
    apps.forEach(a -> result.put(a.path("name").asText(), a.path("replicas").asInt()));
    return result;
  }

  /** Ready instances per node, as host 1 lists them. */
  private Map<String, Integer> healthyPerNode(NetnsCluster cluster, int host) {
    Map<String, Integer> perNode = new HashMap<>();
    Answer a = http.call(cluster.api(host), "GET", "/api/v1/instances", null, null);
    if (a.status() == 200) {
      for (JsonNode i : a.body()) {
        if (i.path("healthy").asBoolean()) {
          perNode.merge(i.path("node").asText(), 1, Integer::sum);
        }
      }
    }
    return perNode;
  }

  /**
   * True when every node lists every node ALIVE and holds the same apps as a current read, and
   * each of web's 3 slots has exactly one live instance.
   */
  private boolean converged(NetnsCluster cluster) {
    Answer current = http.call(cluster.api(1), "GET", "/api/v1/apps?consistent=true", null, null);
    if (current.status() != 200) {
      return false;
    }
    for (int h = 1; h <= cluster.size(); h++) {
      Answer apps = http.call(cluster.api(h), "GET", "/api/v1/apps", null, null);
      if (apps.status() != 200 || !replicas(apps.body()).equals(replicas(current.body()))) {
        return false;
      }
      Answer nodes = http.call(cluster.api(h), "GET", "/api/v1/nodes", null, null);
      long alive = 0;
      for (JsonNode n : nodes.body()) {
        alive += n.path("state").asText().equals("ALIVE") ? 1 : 0;
      }
      if (nodes.status() != 200 || alive != cluster.size()) {
        return false;
      }
    }
    Answer instances = http.call(cluster.api(1), "GET", "/api/v1/instances?app=web", null, null);
    if (instances.status() != 200) {
      return false;
    }
    Map<Integer, Integer> perSlot = new HashMap<>();
    for (JsonNode i : instances.body()) {
      if (i.path("healthy").asBoolean()) {
        perSlot.merge(i.path("ordinal").asInt(), 1, Integer::sum);
      }
    }
    return perSlot.equals(Map.of(0, 1, 1, 1, 2, 1)) && DaemonProcess.livePidsWithEnv(appMark).size() == 3;
  }

  private static void await(Duration atMost, java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    long giveUp = System.nanoTime() + atMost.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > giveUp) {
        throw new AssertionError("not within " + atMost.toSeconds() + " s: " + what);
      }
      Thread.sleep(250);
    }
  }

  @Test
  void theMinorityKeepsRunningNothingItTookAppliesAndEachHealConvergesWithin15Seconds() throws Exception {
    NetnsRoot.require();
    Path logs = Path.of("target/partition-logs").toAbsolutePath();
    try (NetnsCluster cluster = new NetnsCluster(3, dir.resolve("data"), logs).start()) {
      cluster.awaitFormed();
      cluster.awaitVoters(3);
      ObjectNode deploy = MAPPER.createObjectNode().put("name", "web").put("command", "python3 -m http.server $PORT").put("replicas", 3)
          .put("strategy", "spread");
      deploy.putArray("ports").add(8080);
      deploy.putObject("healthCheck").put("type", "http").put("path", "/");
      String[] kv = appMark.split("=", 2);
      deploy.putObject("env").put(kv[0], kv[1]);
      Answer deployed = http.call(cluster.api(1), "POST", "/api/v1/apps", deploy, null);
      assertThat(deployed.status()).as(deployed.body().toString()).isEqualTo(201);
      await(Duration.ofSeconds(60), () -> healthyPerNode(cluster, 1).size() == 3 && healthyPerNode(cluster, 1).values().stream().allMatch(c -> c == 1),
          "one healthy instance on each node");
      String cutNode = http.call(cluster.api(3), "GET", "/api/v1/node", null, null).body().path("id").asText();

      for (int seconds : new int[] {30, 60, 120}) {
        // The first cut finds one instance on host 3; after a heal its slot stays where the majority placed it.
        Set<Long> minorityPids = DaemonProcess.livePidsWithEnv("HIVE_NODE=" + cutNode);
        assertThat(minorityPids).hasSizeLessThanOrEqualTo(1);
        if (seconds == 30) {
          assertThat(minorityPids).hasSize(1);
        }
        cluster.partition(Set.of(3));
        long cutAt = System.nanoTime();
        // Twenty writes sent to the cut-off node, each with its own id: refused, or of unknown outcome.
        List<CompletableFuture<Answer>> writes = new ArrayList<>();
        // Ten at a time: each waits out its 10 s deadline, so the twenty take about 20 s.
        java.util.concurrent.ExecutorService writers = java.util.concurrent.Executors.newFixedThreadPool(10);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          String id = "cut-" + seconds + "-" + i;
          ids.add(id);
          int replicas = 4 + i % 3;
          writes.add(CompletableFuture.supplyAsync(() -> http.call(cluster.api(3), "POST", "/api/v1/apps/web/scale",
              MAPPER.createObjectNode().put("replicas", replicas), id), writers));
        }
        writers.shutdown();
        for (CompletableFuture<Answer> w : writes) {
          Answer a = w.get();
          assertThat(a.status()).as(a.body().toString()).isIn(503, 409, 400, 404);
          if (a.status() == 503) {
            assertThat(a.body().path("outcome").asText()).as(a.body().toString()).isEqualTo("UNKNOWN");
          }
        }
        // The majority clones the cut-off node's slot; the cut-off node's instance keeps running.
        await(Duration.ofSeconds(60), () -> {
          Map<String, Integer> majority = healthyPerNode(cluster, 1);
          return !majority.containsKey(cutNode) && majority.values().stream().mapToInt(Integer::intValue).sum() == 3;
        }, "the majority runs all three slots");
        assertThat(DaemonProcess.livePidsWithEnv("HIVE_NODE=" + cutNode)).isEqualTo(minorityPids);
        long left = Duration.ofSeconds(seconds).toNanos() - (System.nanoTime() - cutAt);
        if (left > 0) {
          Thread.sleep(left / 1_000_000);
        }

        cluster.heal();
        long healedAt = System.nanoTime();
        await(Duration.ofSeconds(15), () -> converged(cluster), "after a " + seconds + " s partition, every node agrees and each slot has one instance");
        System.out.printf("PartitionIT: converged %d ms after the heal of a %d s partition%n", (System.nanoTime() - healedAt) / 1_000_000, seconds);
        // Settled by id on the node that took them: none applied, and the state never shows them.
        for (String id : ids) {
          // A node that has not yet applied the index where the request was decided answers 503
          // "ask again" (the API's contract): converged states can still trail the commit index.
          await(Duration.ofSeconds(15), () -> http.call(cluster.api(3), "GET", "/api/v1/commands/" + id, null, null).status() == 200,
              id + " settled on the node that took it");
          Answer status = http.call(cluster.api(3), "GET", "/api/v1/commands/" + id, null, null);
          assertThat(status.status()).as(status.body().toString()).isEqualTo(200);
          assertThat(status.body().path("state").asText()).as(id + ": " + status.body()).isEqualTo("REFUSED");
        }
        for (int h = 1; h <= 3; h++) {
          assertThat(replicas(http.call(cluster.api(h), "GET", "/api/v1/apps", null, null).body())).containsEntry("web", 3);
        }
      }
    }
  }

  /** Each host's node id and role, as host {@code from} lists them. */
  private Map<Integer, String[]> roles(NetnsCluster cluster, int from) {
    Map<String, String> roleById = new HashMap<>();
    Answer nodes = http.call(cluster.api(from), "GET", "/api/v1/nodes", null, null);
    nodes.body().forEach(n -> roleById.put(n.path("id").asText(), n.path("role").asText()));
    Map<Integer, String[]> byHost = new TreeMap<>();
    for (int h = 1; h <= cluster.size(); h++) {
      String id = http.call(cluster.api(h), "GET", "/api/v1/node", null, null).body().path("id").asText();
      byHost.put(h, new String[] {id, roleById.getOrDefault(id, "?")});
    }
    return byHost;
  }

  /**
   * Five hosts: three servers and two clients. A client cut off from every server keeps its
   * instance running and never takes a write; within 5 s of the heal its state is the servers'.
   * The leader cut off alone loses leadership, and the two other servers elect one of them.
   */
  @Test
  void aClientCutOffKeepsItsInstanceTakesNoWriteAndCatchesUpAndALoneLeaderIsReplaced() throws Exception {
    NetnsRoot.require();
    Path logs = Path.of("target/partition-logs").toAbsolutePath();
    try (NetnsCluster cluster = new NetnsCluster(5, dir.resolve("roles"), logs).start()) {
      cluster.awaitFormed();
      cluster.awaitVoters(3);
      Map<Integer, String[]> roles = new TreeMap<>();
      await(Duration.ofSeconds(60), () -> {
        roles.clear();
        roles.putAll(roles(cluster, 1));
        return roles.values().stream().filter(r -> r[1].equals("CLIENT")).count() == 2
            && roles.values().stream().filter(r -> r[1].equals("LEADER")).count() == 1;
      }, "three servers and two clients");
      int client = roles.entrySet().stream().filter(e -> e.getValue()[1].equals("CLIENT")).findFirst().orElseThrow().getKey();
      int leader = roles.entrySet().stream().filter(e -> e.getValue()[1].equals("LEADER")).findFirst().orElseThrow().getKey();
      String clientId = roles.get(client)[0];
      ObjectNode deploy = MAPPER.createObjectNode().put("name", "web").put("command", "sleep 600").put("replicas", 5).put("strategy", "spread");
      String[] kv = appMark.split("=", 2);
      deploy.putObject("env").put(kv[0], kv[1]);
      Answer deployed = http.call(cluster.api(client), "POST", "/api/v1/apps", deploy, null);
      assertThat(deployed.status()).as(deployed.body().toString()).isEqualTo(201);
      await(Duration.ofSeconds(60), () -> healthyPerNode(cluster, client).getOrDefault(clientId, 0) == 1
          && healthyPerNode(cluster, client).values().stream().mapToInt(Integer::intValue).sum() == 5, "one instance on each node");
      Set<Long> clientPids = DaemonProcess.livePidsWithEnv("HIVE_NODE=" + clientId);
      assertThat(clientPids).hasSize(1);

      cluster.partition(Set.of(client));
      Answer write = http.call(cluster.api(client), "POST", "/api/v1/apps/web/scale", MAPPER.createObjectNode().put("replicas", 2), "cut-client-1");
      assertThat(write.status()).as(write.body().toString()).isEqualTo(503);
      // The majority scales meanwhile; the cut-off client keeps its instance.
      Answer scaled = http.call(cluster.api(leader), "POST", "/api/v1/apps/web/scale", MAPPER.createObjectNode().put("replicas", 6), null);
      assertThat(scaled.status()).as(scaled.body().toString()).isEqualTo(200);
      Thread.sleep(5000);
      assertThat(DaemonProcess.livePidsWithEnv("HIVE_NODE=" + clientId)).isEqualTo(clientPids);
      cluster.heal();
      long healedAt = System.nanoTime();
      await(Duration.ofSeconds(5), () -> replicas(http.call(cluster.api(client), "GET", "/api/v1/apps", null, null).body()).equals(Map.of("web", 6)),
          "the client holds the servers' state within 5 s of the heal");
      System.out.printf("PartitionIT: the cut-off client caught up %d ms after the heal%n", (System.nanoTime() - healedAt) / 1_000_000);
      Answer[] lastStatus = new Answer[1];
      try {
        await(Duration.ofSeconds(15), () -> {
          lastStatus[0] = http.call(cluster.api(client), "GET", "/api/v1/commands/cut-client-1", null, null);
          return lastStatus[0].status() == 200;
        }, "the cut-off client's write settled");
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "; it last answered " + lastStatus[0].status() + " " + lastStatus[0].body(), e);
      }
      assertThat(http.call(cluster.api(client), "GET", "/api/v1/commands/cut-client-1", null, null).body().path("state").asText()).isEqualTo("REFUSED");

      String leaderId = roles.get(leader)[0];
      int other = roles.entrySet().stream().filter(e -> e.getValue()[1].equals("SERVER")).findFirst().orElseThrow().getKey();
      cluster.partition(Set.of(leader));
      long cutAt = System.nanoTime();
      // The goal is a leader 3 s after the others notice (at most 2.8 s: Ratis' 1.4 s election
      // timeout, twice). Asked of the other server alone: a question to the cut-off host waits
      // for its timeout, and the 6.6-9.5 s measured here before were mostly that.
      await(Duration.ofSeconds(10), () -> {
        Answer nodes = http.call(cluster.api(other), "GET", "/api/v1/nodes", null, null);
        for (com.fasterxml.jackson.databind.JsonNode n : nodes.body()) {
          if (n.path("role").asText().equals("LEADER") && !n.path("id").asText().equals(leaderId)) {
            return true;
          }
        }
        return false;
      }, "the other servers elect a leader");
      System.out.printf("PartitionIT: the two other servers had a leader %d ms after the leader was cut off%n", (System.nanoTime() - cutAt) / 1_000_000);
      await(Duration.ofSeconds(10), () -> !roles(cluster, leader).get(leader)[1].equals("LEADER"), "the cut-off leader " + leaderId + " steps down");
      cluster.heal();
    }
  }
}
