package dev.hive.core.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.spi.kit.RequiredRuntime;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} read by a real Prometheus parser (the Python client's, from Debian's
 * python3-prometheus-client), and its node figures compared with what /proc says.
 */
class PrometheusEndpointTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");
  /** Parses the text format and prints one JSON object per sample: name, labels, value. */
  private static final String PARSE = String.join("\n",
      "import json, sys",
      "from prometheus_client.parser import text_string_to_metric_families",
      "for family in text_string_to_metric_families(sys.stdin.read()):",
      "    for s in family.samples:",
      "        print(json.dumps({'family': family.name, 'type': family.type, 'name': s.name, 'labels': s.labels, 'value': s.value}))");

  @TempDir Path dir;

  static boolean parserAvailable() {
    try {
      Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import prometheus_client.parser").redirectErrorStream(true).start();
      return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }

  private static Map<String, JsonNode> parse(String text) throws Exception {
    Process p = new ProcessBuilder(PYTHON.toString(), "-c", PARSE).start();
    p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0).as("the parser refused the text: " + err).isTrue();
    Map<String, JsonNode> samples = new HashMap<>();
    ObjectMapper mapper = new ObjectMapper();
    for (String line : out.split("\n")) {
      if (!line.isBlank()) {
        JsonNode s = mapper.readTree(line);
        String device = s.path("labels").path("device").asText("");
        samples.put(s.path("name").asText() + (device.isEmpty() ? "" : "{" + device + "}"), s);
      }
    }
    return samples;
  }

  private static long procValue(String file, String prefix, int field) throws Exception {
    for (String line : Files.readAllLines(Path.of(file))) {
      if (line.trim().startsWith(prefix)) {
        return Long.parseLong(line.trim().split("[\\s:]+")[field]);
      }
    }
    throw new AssertionError(prefix + " not in " + file);
  }

  @Test
  void metricsParseAsPrometheusTextAndAgreeWithProc() throws Exception {
    RequiredRuntime.require("a Prometheus text parser", parserAvailable(),
        "/usr/bin/python3 cannot import prometheus_client (Debian: python3-prometheus-client; scripts/setup-host.sh installs it)");
    try (Cluster cluster = Hive.builder().dataDir(dir).httpPort(0).setting("hive.metrics.interval", "500ms").start()) {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest request = HttpRequest.newBuilder(URI.create(cluster.apiUrl() + "/metrics")).build();
      await().atMost(Duration.ofSeconds(20)).until(() -> http.send(request, HttpResponse.BodyHandlers.ofString()).body().contains("hive_node_uptime_seconds"));
      long loRxBefore = procValue("/proc/net/dev", "lo:", 1);
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      long loRxAfter = procValue("/proc/net/dev", "lo:", 1);
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
      Map<String, JsonNode> samples = parse(response.body());

      long memTotal = procValue("/proc/meminfo", "MemTotal:", 1) * 1024;
      ContainerLimits limits = ContainerLimits.read();
      long expectedTotal = limits.memoryBytes().isPresent() ? Math.min(memTotal, limits.memoryBytes().getAsLong()) : memTotal;
      assertThat(samples.get("hive_node_memory_total_bytes").path("value").asDouble()).isEqualTo((double) expectedTotal);
      double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
      assertThat(samples.get("hive_node_uptime_seconds").path("value").asDouble()).isCloseTo(uptime, org.assertj.core.data.Offset.offset(5.0));
      double load1 = Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
      // The kernel updates load1 every 5 s by up to 8% of itself (its decay), and the sample may be
      // a tick older than this read: on a loaded machine (load 18) that is more than 1.5.
      assertThat(samples.get("hive_node_load1").path("value").asDouble())
          .isCloseTo(load1, org.assertj.core.data.Offset.offset(Math.max(1.5, 0.1 * load1)));
      // A counter: the parser strips _total into the family and keeps it on the sample.
      JsonNode lo = samples.get("hive_node_network_receive_bytes_total{lo}");
      assertThat(lo.path("type").asText()).isEqualTo("counter");
      // Sampled at most an interval before the scrape: between a little before and the value after.
      assertThat(lo.path("value").asDouble()).isBetween(loRxBefore - 50_000_000.0, (double) loRxAfter);
      double cpu = samples.get("hive_node_cpu_usage").path("value").asDouble();
      assertThat(cpu).isBetween(0.0, 1.0);
      assertThat(samples).containsKeys("hive_placements_total", "hive_restarts_total", "hive_heals_total", "jvm_threads_live_threads");
    }
  }
}
