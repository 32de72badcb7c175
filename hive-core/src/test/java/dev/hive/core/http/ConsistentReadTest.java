package dev.hive.core.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.AppSpec;
import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three servers and a client in this JVM, on loopback: a {@code ?consistent=true} read on any of
 * them says, in {@code X-Hive-Index}, an index at least that of every write committed before it.
 */
class ConsistentReadTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String TOKEN = "consistent-read-test-token";
  private final HttpClient http = HttpClient.newHttpClient();
  @TempDir Path dir;

  @Test
  void aConsistentReadOnAnyNodeReflectsEveryWriteCommittedBeforeIt() throws Exception {
    List<Cluster> nodes = new ArrayList<>();
    try {
      int firstPort = freePortPair();
      nodes.add(node("n1", firstPort, List.of(), "auto"));
      for (int i = 2; i <= 3; i++) {
        nodes.add(node("n" + i, freePortPair(), List.of("127.0.0.1:" + firstPort), "auto"));
      }
      nodes.get(0).apps().deploy(AppSpec.builder("counter").command("sleep 600").replicas(0).build());
      for (Cluster node : nodes) {
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> get(node, "/api/v1/apps?consistent=true").body().contains("counter"));
      }

      // A client that has just started: its first consistent read waits for the state it has yet
      // to receive, and says the index it then reflects.
      long before = index(get(nodes.get(0), "/api/v1/apps"));
      Cluster client = node("n4", freePortPair(), List.of("127.0.0.1:" + firstPort), "client");
      nodes.add(client);
      HttpResponse<String> first = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10))
          .until(() -> get(client, "/api/v1/apps?consistent=true"), r -> r.statusCode() == 200);
      assertThat(first.body()).contains("counter");
      assertThat(index(first)).as("the first consistent read on a new client, after the leader's %d", before).isGreaterThanOrEqualTo(before);

      // A Raft follower learns that an entry committed with the leader's next append, and a
      // client a moment after its server: a read that comes at once may find their state behind.
      int write = 0;
      long lastWritten = 0;
      for (int round = 0; round < 2; round++) {
        for (Cluster writer : nodes) {
          for (Cluster reader : nodes) {
            String requestId = "write-" + ++write;
            HttpResponse<String> scale = http.send(HttpRequest.newBuilder(URI.create(writer.apiUrl() + "/api/v1/apps/counter/scale"))
                .header("Content-Type", "application/json").header("Idempotency-Key", requestId)
                .POST(HttpRequest.BodyPublishers.ofString("{\"replicas\":" + (write % 2) + "}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(scale.statusCode()).as(scale.body()).isEqualTo(200);
            HttpResponse<String> consistent = get(reader, "/api/v1/apps?consistent=true");
            long written = lastWritten = MAPPER.readTree(get(writer, "/api/v1/commands/" + requestId).body()).path("logIndex").asLong();
            assertThat(consistent.statusCode()).isEqualTo(200);
            assertThat(index(consistent)).as("a consistent read on %s after %s wrote at %d", reader.localNode().name(), writer.localNode().name(), written)
                .isGreaterThanOrEqualTo(written);
          }
        }
      }
      // Every read takes it, and a value other than true or false says what is wrong.
      assertThat(index(get(client, "/api/v1/nodes?consistent=true"))).isGreaterThanOrEqualTo(lastWritten);
      HttpResponse<String> bad = get(client, "/api/v1/apps?consistent=yes");
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("consistent").contains("'yes' is not true or false");
    } finally {
      for (int i = nodes.size() - 1; i >= 0; i--) {
        nodes.get(i).close();
      }
    }
  }

  private Cluster node(String name, int port, List<String> seeds, String role) {
    return Hive.builder().dataDir(dir.resolve(name)).nodeName(name).bindAddress("127.0.0.1").port(port).httpPort(0).seeds(seeds)
        .joinToken(TOKEN).setting("hive.role", role).start();
  }

  private static long index(HttpResponse<String> response) {
    return Long.parseLong(response.headers().firstValue("X-Hive-Index").orElseThrow());
  }

  private HttpResponse<String> get(Cluster node, String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(node.apiUrl() + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A free port whose next one is free too: the node takes it for consensus. */
  private static int freePortPair() throws IOException {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(20_000, 32_000);
      try (ServerSocket first = new ServerSocket(port); ServerSocket second = new ServerSocket(port + 1)) {
        return port;
      } catch (IOException taken) {
        // try another pair
      }
    }
    throw new IOException("no two free ports in a row between 20000 and 32000");
  }
}
