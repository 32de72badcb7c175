package dev.hive.core.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.hive.api.InvalidSpecException;
import dev.hive.core.sim.VirtualClock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The push exporter against a real HTTP receiver on loopback. Time is virtual: a "minute" of the
 * receiver being down is sixty one-second intervals, each a real, refused connection.
 */
class MonitoringExporterTest {
  private static final Duration INTERVAL = Duration.ofSeconds(1);
  private final VirtualClock clock = new VirtualClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final List<String> received = new CopyOnWriteArrayList<>();
  private final List<String> keys = new CopyOnWriteArrayList<>();
  private final AtomicInteger sequence = new AtomicInteger();
  private HttpServer receiver;

  private void startReceiver(int port) throws IOException {
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 16);
    receiver.createContext("/api/metrics", exchange -> {
      keys.add(exchange.getRequestHeaders().getFirst("X-API-Key"));
      received.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      exchange.sendResponseHeaders(202, -1);
      exchange.close();
    });
    receiver.start();
  }

  @AfterEach
  void stop() {
    if (receiver != null) {
      receiver.stop(0);
    }
  }

  private void tick(MonitoringExporter exporter) {
    exporter.tick(() -> ("{\"seq\":" + sequence.incrementAndGet() + ",\"padding\":\"" + "x".repeat(1000) + "\"}").getBytes(StandardCharsets.UTF_8));
    clock.advance(INTERVAL);
  }

  @Test
  void batchesArriveWithTheKeyAndADownReceiverNeitherGrowsMemoryNorStopsDelivery() throws Exception {
    startReceiver(0);
    int port = receiver.getAddress().getPort();
    MonitoringExporter exporter = new MonitoringExporter("http://127.0.0.1:" + port + "/api/metrics", "k-123", INTERVAL, 20, clock);
    for (int i = 0; i < 5; i++) {
      tick(exporter);
    }
    assertThat(received).hasSize(5);
    assertThat(keys).containsOnly("k-123");
    assertThat(received.get(0)).startsWith("{\"seq\":1,");

    receiver.stop(0);
    for (int i = 0; i < 60; i++) {
      tick(exporter);
      assertThat(exporter.stats().pending()).isLessThanOrEqualTo(20);
    }
    MonitoringExporter.Stats down = exporter.stats();
    assertThat(down.pending()).isEqualTo(20);
    assertThat(down.dropped()).isEqualTo(40);
    assertThat(down.pendingBytes()).isLessThanOrEqualTo(20 * 1100L);
    assertThat(down.failures()).as("backoff: far fewer attempts than ticks").isBetween(3L, 12L);

    startReceiver(port);
    int before = received.size();
    for (int i = 0; i < 400 && exporter.stats().pending() > 1; i++) {
      tick(exporter);
    }
    assertThat(exporter.stats().pending()).isLessThanOrEqualTo(1);
    List<String> resumed = received.subList(before, received.size());
    assertThat(resumed.size()).isGreaterThanOrEqualTo(20);
    // The oldest waiting batch went first: what was kept arrives in order.
    int first = Integer.parseInt(resumed.get(0).replaceAll("\\{\"seq\":(\\d+),.*", "$1"));
    int second = Integer.parseInt(resumed.get(1).replaceAll("\\{\"seq\":(\\d+),.*", "$1"));
    assertThat(second).isEqualTo(first + 1);
    assertThat(first).as("the oldest of the down minute were dropped").isGreaterThan(6);
  }

  @Test
  void badSettingsAreRefusedClearly() {
    assertThatThrownBy(() -> new MonitoringExporter("ftp://host/x", "k", INTERVAL, 10, clock)).isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("not an http(s) URL");
    assertThatThrownBy(() -> new MonitoringExporter("http://host/x", "k", Duration.ZERO, 10, clock)).hasMessageContaining("not an interval");
    assertThatThrownBy(() -> new MonitoringExporter("http://host/x", "k", INTERVAL, 0, clock)).hasMessageContaining("at least 1");
  }
}
