package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.NetnsHosts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosts in network namespaces on one bridge: daemons given no seeds find each other by UDP
 * broadcast and form one cluster; a daemon of another cluster name, or with another token, is
 * not let in. Needs root (for namespaces): skipped without it, a failure under CI=true.
 */
class NetworkNamespaceDiscoveryIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String TOKEN = "netns-token-0123456789abcdef";
  private final String prefix = "hv" + Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36), 36);
  private final String subnet = "10.98." + ThreadLocalRandom.current().nextInt(1, 250);
  private final List<Process> daemons = new ArrayList<>();

  @TempDir Path dir;

  @BeforeEach
  void hosts() throws Exception {
    NetnsRoot.require();
    NetnsHosts.up(prefix, subnet, 5);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (Process p : daemons) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    NetnsHosts.down(prefix, 5);
  }

  private void daemon(String discovery, int host, String cluster, String token) throws IOException {
    String ns = prefix + host;
    Path data = dir.resolve("h" + host);
    daemons.add(new ProcessBuilder("ip", "netns", "exec", ns, NetnsHosts.java(), "-jar", DaemonProcess.HIVE_JAR.toString(), "daemon",
            "--data-dir", data.toString(), "--http-port", "3000", "--port", "7946", "--bind", subnet + "." + host,
            "--discovery", discovery, "--cluster", cluster, "--token", token, "--node-name", "h" + host, "--setting", "hive.udp.interval=300ms")
        .redirectErrorStream(true).redirectOutput(logs().resolve(discovery + "-h" + host + ".log").toFile()).start());
  }

  /** Daemon logs stay in target/ so that a failure can be read after the test. */
  private Path logs() throws IOException {
    Path logs = NetnsHosts.repo().resolve("examples/target/netns-logs/" + prefix);
    Files.createDirectories(logs);
    return logs;
  }

  private JsonNode nodes(int host) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("ip", "netns", "exec", prefix + host, NetnsHosts.java(), "-jar", DaemonProcess.HIVE_JAR.toString(),
        "node", "ls", "--output", "json").start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return MAPPER.readTree(out);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"udp", "mdns"})
  void discoveryFormsTheClusterWithoutSeedsAndIgnoresStrangers(String discovery) throws Exception {
    for (int host = 1; host <= 3; host++) {
      daemon(discovery, host, "hive", TOKEN);
    }
    awaitCluster(3);
    // Strangers on the same wire: another cluster name, and the right name with another token.
    daemon(discovery, 4, "other", TOKEN);
    daemon(discovery, 5, "hive", "wrong-token-0123456789abcdef");
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> nodes(4).size() == 1 && nodes(5).size() == 1);
    awaitCluster(3);
    List<String> names = new ArrayList<>();
    nodes(1).forEach(n -> names.add(n.path("name").asText()));
    assertThat(names).containsExactlyInAnyOrder("h1", "h2", "h3");
    for (JsonNode n : nodes(2)) {
      assertThat(n.path("address").asText()).startsWith(subnet + ".");
    }
    // The strangers formed clusters of their own: each sees only itself.
    assertThat(nodes(4)).hasSize(1);
    assertThat(nodes(5)).hasSize(1);
  }

  private void awaitCluster(int size) {
    for (int host = 1; host <= size; host++) {
      int h = host;
      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
        JsonNode nodes = nodes(h);
        long alive = 0;
        long leaders = 0;
        for (JsonNode n : nodes) {
          alive += n.path("state").asText().equals("ALIVE") ? 1 : 0;
          leaders += n.path("role").asText().equals("LEADER") ? 1 : 0;
        }
        return nodes.size() == size && alive == size && leaders == 1;
      });
    }
  }
}
