package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.ClusterOps;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Placement and self-healing across three daemons started from hive.jar, one server and two
 * clients, so that the clients' copies and batched reports carry it: replicas spread 2/2/2, a
 * client killed the way a machine dies (agent and workloads), its replicas cloned back on the
 * survivors with the count exact; a stateful app whose lost ordinal comes back under its name
 * while the others stay up; a drain that moves one slot at a time; an app that fits nowhere
 * stays pending with its reason.
 */
class SchedulingIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private final String mark = "IT_MARK=" + UUID.randomUUID();
  private final List<DaemonProcess> daemons = new ArrayList<>();
  private final Path dir = Path.of("target", "scheduling-it", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();

  @AfterEach
  void stopAll() throws Exception {
    for (DaemonProcess d : daemons) {
      d.close();
    }
    DaemonProcess.killAll(DaemonProcess.livePidsWithEnv(mark));
  }

  private DaemonProcess byName(String name) {
    return daemons.stream().filter(d -> d.dataDir.getFileName().toString().equals(name)).findFirst().orElseThrow();
  }

  private static String nameOf(DaemonProcess d) {
    return d.dataDir.getFileName().toString();
  }

  private JsonNode healthyInstances(DaemonProcess d, String app) throws Exception {
    List<JsonNode> list = new ArrayList<>();
    for (JsonNode i : ClusterOps.instances(d)) {
      if (i.path("app").asText().equals(app) && i.path("healthy").asBoolean()) {
        list.add(i);
      }
    }
    return MAPPER.valueToTree(list);
  }

  @Test
  void replicasSpreadHealBackExactlyAndStatefulOrdinalsKeepTheirNamesAndQuorum() throws Exception {
    Files.createDirectories(dir);
    ClusterOps.formCluster(dir, 3, daemons, "--label", "zone=a", "--servers", "1");
    await().atMost(PATIENCE).ignoreExceptions()
        .until(() -> ClusterOps.roles(daemons.get(0)).equals(Map.of("n1", "LEADER", "n2", "CLIENT", "n3", "CLIENT")));
    // Writes and reads through a client, which asks the server and reads its own copy.
    DaemonProcess entry = daemons.get(1);
    Map<String, String> idOf = new HashMap<>();
    for (DaemonProcess d : daemons) {
      idOf.put(nameOf(d), ClusterOps.nodeId(d));
    }

    CliResult web = entry.cli("app", "deploy", "--name", "web", "--command", "python3 -m http.server $PORT --bind 127.0.0.1", "--port", "8080",
        "--replicas", "6", "--strategy", "spread", "--constraint", "zone=a", "--health-http", "/", "--env", mark);
    assertThat(web.code()).as(web.err()).isZero();
    CliResult db = entry.cli("app", "deploy", "--name", "db", "--command", "python3 -m http.server $PORT --bind 127.0.0.1 --directory $HIVE_VOLUME",
        "--port", "8080", "--replicas", "3", "--stateful", "--strategy", "spread", "--health-http", "/", "--env", mark);
    assertThat(db.code()).as(db.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> healthyInstances(entry, "web").size() == 6 && healthyInstances(entry, "db").size() == 3);
    assertThat(ClusterOps.perNode(ClusterOps.instances(entry), "web", true).values()).containsExactly(2, 2, 2);
    Map<String, String> dbNodes = new HashMap<>();
    healthyInstances(entry, "db").forEach(i -> dbNodes.put(i.path("id").asText(), i.path("node").asText()));
    assertThat(dbNodes).containsOnlyKeys("db-0", "db-1", "db-2");

    // Kill the other client and the db ordinal it runs (the heal harness times a server's death too).
    DaemonProcess victim = daemons.get(2);
    String victimId = idOf.get(nameOf(victim));
    String lost = dbNodes.entrySet().stream().filter(e -> e.getValue().equals(victimId)).findFirst().orElseThrow().getKey();
    DaemonProcess survivor = entry;
    JsonNode before = ClusterOps.instances(survivor);
    Map<String, Long> stablePids = new HashMap<>();
    for (JsonNode i : before) {
      if (i.path("app").asText().equals("db") && !i.path("id").asText().equals(lost)) {
        stablePids.put(i.path("id").asText(), i.path("pid").asLong());
      }
    }
    ClusterOps.killNode(victim, victimId);
    AtomicInteger mostWebProcesses = new AtomicInteger();
    await().atMost(PATIENCE).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
      JsonNode now = ClusterOps.instances(survivor);
      long webListed = 0;
      for (JsonNode i : now) {
        webListed += i.path("app").asText().equals("web") ? 1 : 0;
        // The other ordinals stay up throughout: the node's death is no reason for Hive to touch them.
        if (stablePids.containsKey(i.path("id").asText())) {
          assertThat(i.path("pid").asLong()).as("%s kept its process", i.path("id").asText()).isEqualTo(stablePids.get(i.path("id").asText()));
        }
      }
      mostWebProcesses.accumulateAndGet((int) Math.max(webListed, 0), Math::max);
      return healthyInstances(survivor, "web").size() == 6 && healthyInstances(survivor, "db").size() == 3;
    });
    assertThat(mostWebProcesses.get()).as("web instances listed at any time while healing").isLessThanOrEqualTo(6);
    JsonNode healed = ClusterOps.instances(survivor);
    assertThat(ClusterOps.perNode(healed, "web", true)).doesNotContainKey(victimId);
    assertThat(ClusterOps.perNode(healed, "web", true).values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(6);
    JsonNode back = null;
    for (JsonNode i : healed) {
      if (i.path("id").asText().equals(lost)) {
        back = i;
      }
    }
    assertThat(back).as(lost + " back under its name").isNotNull();
    assertThat(back.path("node").asText()).isNotEqualTo(victimId);
    // Live processes carrying the test's marker: exactly the 9 listed, none left over.
    assertThat(DaemonProcess.livePidsWithEnv(mark)).hasSize(9);

    // A drain moves everything off the server, one slot at a time, to the clients; the stateful
    // app never has two ordinals down.
    victim.start();
    ClusterOps.awaitAlive(survivor, 3, 60_000);
    DaemonProcess drained = daemons.get(0);
    String drainedId = idOf.get(nameOf(drained));
    CliResult drain = survivor.cli("node", "drain", "--node", nameOf(drained));
    assertThat(drain.code()).as(drain.err()).isZero();
    AtomicInteger mostDbDown = new AtomicInteger();
    await().atMost(PATIENCE).pollInterval(Duration.ofMillis(150)).ignoreExceptions().until(() -> {
      JsonNode now = ClusterOps.instances(survivor);
      int dbHealthy = ClusterOps.perNode(now, "db", true).values().stream().mapToInt(Integer::intValue).sum();
      mostDbDown.accumulateAndGet(3 - dbHealthy, Math::max);
      Map<String, Integer> web6 = ClusterOps.perNode(now, "web", true);
      return !web6.containsKey(drainedId) && !ClusterOps.perNode(now, "db", true).containsKey(drainedId)
          && web6.values().stream().mapToInt(Integer::intValue).sum() == 6 && dbHealthy == 3;
    });
    assertThat(mostDbDown.get()).as("db ordinals down at once during the drain").isLessThanOrEqualTo(1);
    JsonNode drainedNode = survivor.getJson("/api/v1/nodes/" + nameOf(drained));
    assertThat(drainedNode.path("draining").asBoolean()).isTrue();

    // Replicas that can fit nowhere stay pending, with the reason per kind of node.
    CliResult huge = survivor.cli("app", "deploy", "--name", "huge", "--command", "sleep 600", "--cpus", "512", "--env", mark);
    assertThat(huge.code()).as(huge.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> survivor.getJson("/api/v1/apps/huge").path("pendingReason").asText().contains("needs 512 CPUs"));
    JsonNode app = survivor.getJson("/api/v1/apps/huge");
    assertThat(app.path("pending").asInt()).isEqualTo(1);
    assertThat(app.path("pendingReason").asText()).matches(".*nodes? \\[zone=a\\]: needs 512 CPUs, largest free is [0-9.]+.*");
    CliResult badStrategy = survivor.cli("app", "deploy", "--name", "bad", "--command", "sleep 1", "--strategy", "random");
    assertThat(badStrategy.code()).isNotZero();
    assertThat(badStrategy.err()).contains("strategy").contains("binpack or spread");
    CliResult badConstraint = survivor.cli("app", "deploy", "--name", "bad", "--command", "sleep 1", "--constraint", "zone");
    assertThat(badConstraint.code()).isNotZero();
    assertThat(badConstraint.err()).contains("LABEL=VALUE");
    assertThat(survivor.cli("node", "drain", "--node", "nope").err()).contains("there is no node 'nope'");
  }
}
