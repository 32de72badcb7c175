package dev.hive.examples.harness;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Measures "node killed -> replacements healthy": three daemons from hive.jar, an app of six
 * replicas spread over them with an HTTP health check, then rounds of killing a node holding
 * replicas the way a machine dies (agent and workloads, SIGKILL), timing until six replicas are
 * HEALTHY again on the survivors, and checking the cluster never lists more than six. The killed
 * node is restarted on its data dir before the next round. All at the daemon's defaults.
 * {@code client} starts five daemons instead (three servers and two clients) and kills a client.
 *
 * <pre>java -cp examples/target/hive.jar dev.hive.examples.harness.HealHarness [rounds] [member|leader|client]</pre>
 */
public final class HealHarness {
  private static final int REPLICAS = 6;

  private HealHarness() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    String kind = args.length > 1 ? args[1] : "member";
    if (!List.of("member", "leader", "client").contains(kind)) {
      throw new IllegalArgumentException("the node to kill is member, leader or client, not " + kind);
    }
    int nodes = kind.equals("client") ? 5 : 3;
    String victimRole = kind.equals("member") ? "SERVER" : kind.equals("leader") ? "LEADER" : "CLIENT";
    Path dir = Files.createTempDirectory("hive-heal-");
    String mark = "HEAL_MARK=" + UUID.randomUUID();
    List<DaemonProcess> daemons = new ArrayList<>();
    try {
      ClusterOps.formCluster(dir, nodes, daemons);
      Map<String, String> idOf = new HashMap<>();
      for (DaemonProcess d : daemons) {
        idOf.put(d.dataDir.getFileName().toString(), ClusterOps.nodeId(d));
      }
      DaemonProcess.CliResult deploy = daemons.get(0).cli("app", "deploy", "--name", "web", "--command", "python3 -m http.server $PORT --bind 127.0.0.1",
          "--port", "8080", "--replicas", Integer.toString(REPLICAS), "--strategy", "spread", "--health-http", "/", "--env", mark);
      if (deploy.code() != 0) {
        throw new IllegalStateException(deploy.err());
      }
      awaitHealthy(daemons.get(0), null, 60_000);
      long[] heal = new long[rounds];
      int mostListed = 0;
      for (int round = 0; round < rounds; round++) {
        Map<String, String> roles = ClusterOps.roles(daemons.get(0));
        Map<String, Integer> perNode = ClusterOps.perNode(ClusterOps.instances(daemons.get(0)), "web", true);
        DaemonProcess victim = null;
        for (DaemonProcess d : daemons) {
          String name = d.dataDir.getFileName().toString();
          if (victimRole.equals(roles.get(name)) && perNode.getOrDefault(idOf.get(name), 0) > 0) {
            victim = d;
            break;
          }
        }
        if (victim == null) {
          throw new IllegalStateException("no " + kind + " holds replicas: " + perNode + ", roles " + roles);
        }
        String victimId = idOf.get(victim.dataDir.getFileName().toString());
        int lost = perNode.get(victimId);
        ClusterOps.killNode(victim, victimId);
        long killed = System.nanoTime();
        DaemonProcess dead = victim;
        DaemonProcess watcher = daemons.stream().filter(d -> d != dead).findFirst().orElseThrow();
        mostListed = Math.max(mostListed, awaitHealthy(watcher, victimId, 60_000));
        heal[round] = (System.nanoTime() - killed) / 1_000_000;
        System.out.printf("round %d: killed %s (%s, %d replicas) -> %d replicas healthy on the survivors after %d ms%n", round + 1,
            victim.dataDir.getFileName(), kind, lost, REPLICAS, heal[round]);
        victim.start();
        ClusterOps.awaitAlive(watcher, nodes, 60_000);
      }
      long[] sorted = heal.clone();
      Arrays.sort(sorted);
      System.out.printf("node killed -> replacements healthy (%s): median %d ms, max %d ms over %d rounds (target 5000 ms); most replicas listed at once: %d%n",
          kind, sorted[sorted.length / 2], sorted[sorted.length - 1], rounds, mostListed);
    } finally {
      for (DaemonProcess d : daemons) {
        d.close();
      }
      DaemonProcess.killAll(DaemonProcess.livePidsWithEnv(mark));
    }
  }

  /** Waits until six replicas are HEALTHY, none on {@code excluded}; returns the most replicas listed at once meanwhile. */
  private static int awaitHealthy(DaemonProcess d, String excluded, long timeoutMillis) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    int most = 0;
    while (System.currentTimeMillis() < deadline) {
      try {
        JsonNode instances = ClusterOps.instances(d);
        int listed = 0;
        for (JsonNode i : instances) {
          listed += i.path("app").asText().equals("web") ? 1 : 0;
        }
        most = Math.max(most, listed);
        Map<String, Integer> healthy = ClusterOps.perNode(instances, "web", true);
        if (healthy.values().stream().mapToInt(Integer::intValue).sum() == REPLICAS && (excluded == null || !healthy.containsKey(excluded))) {
          return most;
        }
      } catch (java.io.IOException e) {
        // The node is busy electing a leader: ask again.
      }
      DaemonProcess.pause(50);
    }
    throw new IllegalStateException("the app did not heal within " + timeoutMillis + " ms");
  }
}
