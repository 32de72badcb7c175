package dev.hive.examples.harness.consistency;

import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.NetnsHosts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Hive daemons on hosts in network namespaces ({@code scripts/netns-hosts.sh}), one per host, as
 * separate JVMs started from the launcher jar; what a nemesis does to them: SIGKILL and restart,
 * and partitions made of blackhole routes between hosts (each side drops what it sends to the
 * other). The harness reaches each host's API (loopback-only inside its namespace) through a
 * socat forwarder on the host's address, port {@value #API_FORWARD_PORT}, from an address the
 * bridge gets in the harness's namespace. Needs root.
 */
public final class NetnsCluster implements AutoCloseable {
  static final int API_FORWARD_PORT = 3100;
  private static final String TOKEN = "consistency-token-0123456789abcdef";

  private final String prefix = "hc" + Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36), 36);
  private final String subnet = "10.96." + ThreadLocalRandom.current().nextInt(1, 250);
  private final int size;
  private final Path dataDir;
  private final Path logs;
  /** An environment entry of every daemon and of every workload the checker deploys, so that all are found and killed. */
  public final String mark = "HIVE_CONSISTENCY_MARK=" + Long.toHexString(ThreadLocalRandom.current().nextLong());
  private final Map<Integer, Process> daemons = new HashMap<>();
  private final List<Process> forwarders = new ArrayList<>();
  /** Host pairs cut from each other, as "i-j" with i < j. */
  private final Set<String> cuts = new TreeSet<>();
  private boolean up;

  public NetnsCluster(int size, Path dataDir, Path logs) {
    this.size = size;
    this.dataDir = dataDir;
    this.logs = logs;
  }

  /** Makes the hosts, starts a daemon on each (the first founds the cluster) and the API forwarders. */
  public NetnsCluster start() throws IOException, InterruptedException {
    Files.createDirectories(logs);
    NetnsHosts.up(prefix, subnet, size);
    up = true;
    NetnsHosts.run("ip", "addr", "add", subnet + ".254/24", "dev", prefix + "br");
    for (int host = 1; host <= size; host++) {
      forwarders.add(new ProcessBuilder("ip", "netns", "exec", prefix + host, "socat",
          "TCP-LISTEN:" + API_FORWARD_PORT + ",bind=" + address(host) + ",fork,reuseaddr", "TCP:127.0.0.1:3000")
          .redirectErrorStream(true).redirectOutput(logs.resolve("socat-" + host + ".log").toFile()).start());
      startDaemon(host);
    }
    return this;
  }

  /** Returns the directory of the daemons' logs. */
  public Path logs() {
    return logs;
  }

  public int size() {
    return size;
  }

  /** The address of host {@code host} (1-based). */
  public String address(int host) {
    return subnet + "." + host;
  }

  /** The base URL of host {@code host}'s API, as the harness reaches it. */
  public String api(int host) {
    return "http://" + address(host) + ":" + API_FORWARD_PORT;
  }

  /** Starts host {@code host}'s daemon on its data dir (again, after a kill). */
  public synchronized void startDaemon(int host) throws IOException {
    List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", prefix + host, NetnsHosts.java(), "-Xmx256m",
        // -Dhive.netns.ratisLog=info: the daemons log Ratis' elections and configuration changes.
        "-Dorg.slf4j.simpleLogger.log.org.apache.ratis=" + System.getProperty("hive.netns.ratisLog", "warn"),
        // -Dhive.netns.debug=dev.hive.core.follow: the daemons log that package at debug level.
        "-Dorg.slf4j.simpleLogger.log." + System.getProperty("hive.netns.debug", "dev.hive.none") + "=debug",
        // Wall-clock times, so that the hosts' logs line up with each other and with the checker's faults.
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS", "-jar", DaemonProcess.HIVE_JAR.toString(),
        "daemon", "--data-dir", dataDir.resolve("h" + host).toString(), "--http-port", "3000", "--port", "7946", "--bind", address(host),
        "--token", TOKEN, "--node-name", "h" + host, "--dns-port", "-1", "--setting", "hive.reconcile.stop-grace=1s"));
    if (host > 1) {
      argv.addAll(List.of("--seeds", address(1) + ":7946," + address(2) + ":7946"));
    }
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve("h" + host + ".log").toFile()));
    String[] kv = mark.split("=", 2);
    pb.environment().put(kv[0], kv[1]);
    daemons.put(host, pb.start());
  }

  /** SIGKILLs host {@code host}'s daemon (its workloads keep running, as after a crash). */
  public synchronized void kill(int host) throws InterruptedException {
    Process p = daemons.remove(host);
    if (p != null) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Returns the hosts whose daemon runs. */
  public synchronized Set<Integer> running() {
    Set<Integer> hosts = new TreeSet<>();
    daemons.forEach((host, p) -> {
      if (p.isAlive()) {
        hosts.add(host);
      }
    });
    return hosts;
  }

  /** Cuts every host of {@code side} from every host not in it. */
  public void partition(Set<Integer> side) throws IOException, InterruptedException {
    for (int a : side) {
      for (int b = 1; b <= size; b++) {
        if (!side.contains(b)) {
          cut(a, b);
        }
      }
    }
  }

  /** Cuts hosts {@code a} and {@code b} from each other, both ways. */
  public synchronized void cut(int a, int b) throws IOException, InterruptedException {
    String key = Math.min(a, b) + "-" + Math.max(a, b);
    if (cuts.add(key)) {
      NetnsHosts.run("ip", "-n", prefix + a, "route", "add", "blackhole", address(b) + "/32");
      NetnsHosts.run("ip", "-n", prefix + b, "route", "add", "blackhole", address(a) + "/32");
    }
  }

  /** Removes every cut. */
  public synchronized void heal() throws IOException, InterruptedException {
    for (String key : cuts) {
      String[] ab = key.split("-");
      NetnsHosts.run("ip", "-n", prefix + ab[0], "route", "del", "blackhole", address(Integer.parseInt(ab[1])) + "/32");
      NetnsHosts.run("ip", "-n", prefix + ab[1], "route", "del", "blackhole", address(Integer.parseInt(ab[0])) + "/32");
    }
    cuts.clear();
  }

  /** Returns the cuts in place, as "i-j". */
  public synchronized Set<String> cuts() {
    return new TreeSet<>(cuts);
  }

  /** Waits until every node lists every node ALIVE. */
  public void awaitFormed() throws Exception {
    NetnsCluster cluster = this;
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    long giveUp = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (System.nanoTime() < giveUp) {
      int formed = 0;
      for (int h = 1; h <= cluster.size(); h++) {
        try {
          var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(cluster.api(h) + "/api/v1/nodes")).timeout(Duration.ofSeconds(5))
              .build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
          if (r.statusCode() == 200) {
            long alive = 0;
            for (var n : mapper.readTree(r.body())) {
              alive += n.path("state").asText().equals("ALIVE") ? 1 : 0;
            }
            formed += alive == cluster.size() ? 1 : 0;
          }
        } catch (java.io.IOException e) {
          // Not up yet.
        }
      }
      if (formed == cluster.size()) {
        return;
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("the " + cluster.size() + " nodes did not form one cluster within 3 minutes");
  }

  /**
   * Waits until a server lists exactly {@code voters} members of the consensus group, every one
   * voting. While a group grows, a joiner is a standby before it votes, and cutting one of two
   * voters then stops the group until the heal: that is Raft, not what a partition test means
   * to try; and a standby is a client a few seconds later.
   */
  public void awaitVoters(int voters) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    long giveUp = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (System.nanoTime() < giveUp) {
      for (int h = 1; h <= size; h++) {
        try {
          var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(api(h) + "/api/v1/operator/raft/configuration"))
              .timeout(Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
          if (r.statusCode() == 200) {
            long voting = 0;
            var servers = mapper.readTree(r.body()).path("servers");
            for (var s : servers) {
              voting += s.path("voter").asBoolean() ? 1 : 0;
            }
            if (voting == voters && servers.size() == voters) {
              return;
            }
            break;
          }
        } catch (java.io.IOException e) {
          // Not up yet.
        }
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("the consensus group did not reach " + voters + " voters within 2 minutes");
  }

  @Override
  public synchronized void close() throws IOException, InterruptedException {
    for (Process p : daemons.values()) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    daemons.clear();
    for (Process f : forwarders) {
      f.destroyForcibly();
    }
    // The daemons' children and the checker's workloads: everything that carries the mark, and
    // every workload that runs in a data dir of this cluster (workloads do not inherit the
    // daemon's environment, so one deployed without the mark carries only its cwd).
    DaemonProcess.killAll(DaemonProcess.livePidsWithEnv(mark));
    DaemonProcess.killAll(DaemonProcess.livePidsWorkingUnder(dataDir));
    if (up) {
      NetnsHosts.down(prefix, size);
      up = false;
    }
  }
}
