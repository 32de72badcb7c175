package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.ClusterOps;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three daemons started from hive.jar with {@code --discovery libp2p --transport libp2p}: the
 * second and third know only the first's multiaddr as bootstrap, find the cluster through the DHT,
 * and carry every node-to-node message (joining, membership, deployments, file transfers) over
 * Noise-encrypted libp2p streams. A node with another token is refused and told why. With
 * {@code --bootstrap-expect} the founder waits until it has found every node forming the cluster.
 */
class Libp2pClusterIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration PATIENCE = Duration.ofSeconds(90);
  private final String mark = "IT_MARK=" + UUID.randomUUID();
  private final String token = "hive-libp2p-it-" + UUID.randomUUID();
  private final List<DaemonProcess> daemons = new ArrayList<>();
  private final Path dir = Path.of("target", "libp2p-it", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();

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

  private DaemonProcess start(String name, String... more) throws IOException {
    return daemon(name, more).start();
  }

  private DaemonProcess daemon(String name, String... more) throws IOException {
    List<String> args = new ArrayList<>(List.of("--node-name", name, "--discovery", "libp2p", "--transport", "libp2p", "--token", token));
    args.addAll(List.of(more));
    DaemonProcess d = new DaemonProcess(dir.resolve(name), args.toArray(String[]::new));
    daemons.add(d);
    return d;
  }

  private static long count(JsonNode nodes, String field, String value) {
    long n = 0;
    for (JsonNode node : nodes) {
      n += node.path(field).asText().equals(value) ? 1 : 0;
    }
    return n;
  }

  @Test
  void daemonsFindEachOtherThroughTheDhtAndCarryTheirTrafficOverLibp2p() throws Exception {
    DaemonProcess first = start("n1");
    JsonNode info = MAPPER.readTree(first.cli("node", "info", "--output", "json").out());
    String multiaddr = info.path("multiaddrs").get(0).asText();
    // With --transport libp2p the libp2p port is the cluster port: one port to open, not two.
    assertThat(multiaddr).isEqualTo("/ip4/127.0.0.1/tcp/" + first.clusterPort + "/p2p/" + info.path("peerId").asText());
    start("n2", "--bootstrap", multiaddr);
    start("n3", "--bootstrap", multiaddr);
    for (DaemonProcess d : daemons) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> {
        JsonNode nodes = d.getJson("/api/v1/nodes");
        return nodes.size() == 3 && count(nodes, "state", "ALIVE") == 3 && count(nodes, "role", "LEADER") == 1
            && count(nodes, "role", "SERVER") == 2;
      });
    }

    // A deployment made through one node runs on all three: the scheduler's orders travel as libp2p requests.
    CliResult deploy = daemons.get(2).cli("app", "deploy", "--name", "web", "--command", "python3 -m http.server $PORT --bind 127.0.0.1",
        "--port", "8080", "--replicas", "3", "--health-http", "/", "--env", mark, "--strategy", "spread");
    assertThat(deploy.code()).as(deploy.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> {
      JsonNode instances = ClusterOps.instances(first);
      return ClusterOps.perNode(instances, "web", true).size() == 3;
    });

    // A file moves n1 -> n3 on libp2p bulk streams and arrives whole.
    byte[] content = new byte[8 * 1024 * 1024];
    new Random(9).nextBytes(content);
    Path source = Files.write(dir.resolve("payload.bin"), content);
    CliResult sent = first.cli("transfer", "send", source.toString(), "--to", "n3", "--as", "in/payload.bin");
    assertThat(sent.code()).as(sent.out() + sent.err()).isZero();
    assertThat(sent.out()).contains("SUCCEEDED");
    assertThat(sha256(Files.readAllBytes(daemons.get(2).dataDir.resolve("received/in/payload.bin")))).isEqualTo(sha256(content));
  }

  @Test
  void aNodeWithAnotherTokenIsRefusedAndToldWhy() throws Exception {
    DaemonProcess first = start("n1");
    CliResult wrong = new DaemonProcess(dir.resolve("wrong"), "--transport", "libp2p", "--seeds", first.clusterAddress(),
        "--token", "hive-not-the-token-0123456789").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(wrong.code()).isNotZero();
    assertThat(wrong.out()).contains("error: the node at " + first.clusterAddress() + " refused this node")
        .contains("join token").contains("check --token");
    assertThat(Files.exists(dir.resolve("wrong/tls/node.crt"))).isFalse();
    assertThat(first.getJson("/api/v1/nodes")).hasSize(1);

    CliResult unknown = new DaemonProcess(dir.resolve("unknown"), "--transport", "quic").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(unknown.out()).contains("there is no transport named 'quic'; known: tcp, libp2p");
  }

  @Test
  void bootstrapExpectHoldsTheFounderUntilEveryNodeIsFound() throws Exception {
    // The first node's identity is made beforehand, as an operator would, so that the others can
    // be given its multiaddr while it is still waiting for them.
    DaemonProcess first = daemon("n1", "--bootstrap-expect", "3");
    String multiaddr = "/ip4/127.0.0.1/tcp/" + first.clusterPort + "/p2p/"
        + dev.hive.discovery.libp2p.wire.PeerKeys.loadOrCreate(dir.resolve("n1/libp2p/identity.key")).peerId();
    CompletableFuture<DaemonProcess> firstUp = startInBackground(first);
    // Alone, it waits longer than the 3 s quiet window that would otherwise let it found.
    DaemonProcess.pause(6000);
    assertThat(firstUp).isNotDone();
    assertThat(Files.readString(first.log())).doesNotContain("founds cluster");

    // None of them is up before all three have found each other: start them together.
    List<CompletableFuture<DaemonProcess>> others = List.of(startInBackground(daemon("n2", "--bootstrap-expect", "3", "--bootstrap", multiaddr)),
        startInBackground(daemon("n3", "--bootstrap-expect", "3", "--bootstrap", multiaddr)));
    firstUp.get(90, TimeUnit.SECONDS);
    for (CompletableFuture<DaemonProcess> other : others) {
      other.get(90, TimeUnit.SECONDS);
    }
    for (DaemonProcess d : daemons) {
      await().atMost(PATIENCE).ignoreExceptions().until(() -> {
        JsonNode nodes = d.getJson("/api/v1/nodes");
        return nodes.size() == 3 && count(nodes, "state", "ALIVE") == 3 && count(nodes, "role", "LEADER") == 1;
      });
    }
    long founders = 0;
    for (DaemonProcess d : daemons) {
      founders += Files.readString(d.log()).contains("founds cluster") ? 1 : 0;
    }
    assertThat(founders).isEqualTo(1);

    CliResult zero = new DaemonProcess(dir.resolve("zero"), "--discovery", "udp", "--bootstrap-expect", "0").startExpectingFailure(Duration.ofSeconds(60));
    assertThat(zero.out()).contains("--bootstrap-expect 0 is not a node count");
    CliResult withSeeds = new DaemonProcess(dir.resolve("seeded"), "--discovery", "udp", "--bootstrap-expect", "3", "--seeds", first.clusterAddress())
        .startExpectingFailure(Duration.ofSeconds(60));
    assertThat(withSeeds.out()).contains("--bootstrap-expect needs --discovery");
  }

  /** Starts a daemon on a thread of its own: a shared pool may be too small for every start waiting at once. */
  private static CompletableFuture<DaemonProcess> startInBackground(DaemonProcess daemon) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return daemon.start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, task -> new Thread(task, "start-" + daemon.dataDir.getFileName()).start());
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
