package dev.hive.examples.harness;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Steps shared by the scheduling harness and its integration test: form a cluster of daemons,
 * read where instances run, and kill a node the way a machine dies -- its agent and every workload
 * it started.
 */
public final class ClusterOps {
  private ClusterOps() {}

  /** Starts {@code n} daemons named n1..nN under {@code dir}, each joining through the previous one, and waits until they form. */
  public static List<DaemonProcess> formCluster(Path dir, int n, List<DaemonProcess> into, String... extraArgs) throws IOException {
    List<String> first = new ArrayList<>(List.of("--node-name", "n1"));
    first.addAll(List.of(extraArgs));
    DaemonProcess seed = new DaemonProcess(dir.resolve("n1"), first.toArray(String[]::new)).start();
    into.add(seed);
    String token = seed.cli("cluster", "token").out().strip();
    for (int i = 2; i <= n; i++) {
      List<String> args = new ArrayList<>(List.of("--node-name", "n" + i, "--seeds", into.get(i - 2).clusterAddress(), "--token", token));
      args.addAll(List.of(extraArgs));
      into.add(new DaemonProcess(dir.resolve("n" + i), args.toArray(String[]::new)).start());
    }
    awaitAlive(into.get(0), n, 90_000);
    return into;
  }

  /** Waits until {@code d} sees {@code n} ALIVE nodes and one LEADER. */
  public static void awaitAlive(DaemonProcess d, int n, long timeoutMillis) throws IOException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    JsonNode nodes = null;
    while (System.currentTimeMillis() < deadline) {
      try {
        nodes = d.getJson("/api/v1/nodes");
        int alive = 0;
        int leaders = 0;
        for (JsonNode node : nodes) {
          alive += node.path("state").asText().equals("ALIVE") ? 1 : 0;
          leaders += node.path("role").asText().equals("LEADER") ? 1 : 0;
        }
        if (alive == n && leaders == 1) {
          return;
        }
      } catch (IOException e) {
        // Not serving yet.
      }
      DaemonProcess.pause(200);
    }
    throw new IllegalStateException("the cluster did not reach " + n + " live nodes in " + timeoutMillis + " ms: " + nodes);
  }

  /** Returns the instances the cluster lists (asking {@code d}). */
  public static JsonNode instances(DaemonProcess d) throws IOException {
    return d.getJson("/api/v1/instances");
  }

  /** Returns how many of an app's instances each node id runs, counting only HEALTHY ones when asked. */
  public static Map<String, Integer> perNode(JsonNode instances, String app, boolean healthyOnly) {
    Map<String, Integer> counts = new HashMap<>();
    for (JsonNode i : instances) {
      if (i.path("app").asText().equals(app) && (!healthyOnly || i.path("healthy").asBoolean())) {
        counts.merge(i.path("node").asText(), 1, Integer::sum);
      }
    }
    return counts;
  }

  /** Returns a daemon's node id. */
  public static String nodeId(DaemonProcess d) throws IOException {
    return d.getJson("/api/v1/node").path("id").asText();
  }

  /** Returns the name of the node that leads, as {@code d} sees it. */
  public static String leaderName(DaemonProcess d) throws IOException {
    return roles(d).entrySet().stream().filter(e -> e.getValue().equals("LEADER")).map(Map.Entry::getKey).findFirst().orElse(null);
  }

  /** Each node's role (LEADER, SERVER or CLIENT) by node name, as {@code d} lists them. */
  public static Map<String, String> roles(DaemonProcess d) throws IOException {
    Map<String, String> roles = new java.util.TreeMap<>();
    for (JsonNode n : d.getJson("/api/v1/nodes")) {
      roles.put(n.path("name").asText(), n.path("role").asText());
    }
    return roles;
  }

  /** Kills a node as a machine dies: SIGKILL to its agent and to every workload it started. */
  public static void killNode(DaemonProcess d, String nodeId) throws InterruptedException {
    d.kill();
    DaemonProcess.killAll(DaemonProcess.livePidsWithEnv("HIVE_NODE=" + nodeId));
  }
}
