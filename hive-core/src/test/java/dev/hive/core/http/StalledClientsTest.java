package dev.hive.core.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hundred clients that send a request's headers and part of its body, then nothing: the API
 * still answers {@code /health} at once. On the JDK's server, four such clients (then sixteen)
 * held every thread until they gave up.
 */
class StalledClientsTest {
  @TempDir Path dir;

  @Test
  void aHundredStalledUploadsDoNotDelayHealth() throws Exception {
    try (Cluster cluster = Hive.builder().dataDir(dir).httpPort(0).start()) {
      URI api = URI.create(cluster.apiUrl());
      List<Socket> stalled = new ArrayList<>();
      try {
        for (int i = 0; i < 100; i++) {
          Socket s = new Socket();
          s.connect(new InetSocketAddress(api.getHost(), api.getPort()), 5_000);
          OutputStream out = s.getOutputStream();
          out.write(("POST /api/v1/apps HTTP/1.1\r\nHost: " + api.getHost() + ":" + api.getPort()
              + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"name\":").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          stalled.add(s);
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        for (int i = 0; i < 5; i++) {
          long started = System.nanoTime();
          HttpResponse<String> health = http.send(HttpRequest.newBuilder(api.resolve("/health")).timeout(Duration.ofSeconds(1)).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(health.statusCode()).isEqualTo(200);
          assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
        }
      } finally {
        for (Socket s : stalled) {
          s.close();
        }
      }
    }
  }
}
