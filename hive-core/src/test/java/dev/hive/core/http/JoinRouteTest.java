package dev.hive.core.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.core.http.RawHttp.Answer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /api/v1/cluster/join} refuses what is not host:port, naming it, and says what became
 * of each host. It used to answer 200 for {@code ::::::} and dial it.
 */
class JoinRouteTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Map<String, String> JSON = Map.of("Content-Type", "application/json");
  /** A name no resolver knows (RFC 6761): unreachable anywhere, where any address may be routed (this host's network forwards even TEST-NET). */
  private static final String NOWHERE = "hive-join-test.invalid";

  @TempDir Path dir;

  @Test
  void badHostsAreRefusedAndEveryHostIsReported() throws Exception {
    try (Cluster cluster = Hive.builder().dataDir(dir).httpPort(0).port(0).bindAddress("127.0.0.1").start();
        ServerSocket listening = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      String api = cluster.apiUrl();
      for (String bad : new String[] {"\"::::::\"", "\"a b\"", "\"h:99999\"", "42"}) {
        Answer refused = RawHttp.send(api, "POST", "/api/v1/cluster/join", JSON, "{\"hosts\":[" + bad + "]}");
        assertThat(refused.status()).as(bad + ": " + refused.body()).isEqualTo(400);
        assertThat(MAPPER.readTree(refused.body()).path("field").asText()).isEqualTo("hosts");
      }
      int closed;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        closed = s.getLocalPort();
      }
      Answer joined = RawHttp.send(api, "POST", "/api/v1/cluster/join", JSON,
          "{\"hosts\":[\"127.0.0.1:" + listening.getLocalPort() + "\", \"127.0.0.1:" + closed + "\", \"" + NOWHERE + ":7946\"]}");
      assertThat(joined.status()).as(joined.body()).isEqualTo(200);
      JsonNode hosts = MAPPER.readTree(joined.body()).path("hosts");
      assertThat(hosts).hasSize(3);
      assertThat(hosts.get(0).path("result").asText()).isEqualTo("reached");
      assertThat(hosts.get(1).path("result").asText()).isEqualTo("refused");
      assertThat(hosts.get(2).path("result").asText()).isEqualTo("unreachable");
    }
  }
}
