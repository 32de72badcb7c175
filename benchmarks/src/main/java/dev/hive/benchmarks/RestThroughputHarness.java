package dev.hive.benchmarks;

import dev.hive.api.AppSpec;
import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Requests per second of {@code GET /api/v1/apps} (20 apps listed) from 8 keep-alive clients, on
 * the API as Hive serves it now (Jetty) and as it served it before (the JDK's HTTP server, kept as
 * {@code hive.api.server=jdk} for this comparison), alternating rounds in one run so both see the
 * same machine. The clients run as the node's owner on loopback, so each request also pays the
 * owner check (a read of {@code /proc/net/tcp}).
 *
 * <pre>java -Dorg.slf4j.simpleLogger.defaultLogLevel=off -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.RestThroughputHarness [seconds-per-round] [rounds] [clients]</pre>
 */
public final class RestThroughputHarness {
  private RestThroughputHarness() {}

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int clients = args.length > 2 ? Integer.parseInt(args[2]) : 8;
    Path dir = Files.createTempDirectory("hive-rest-bench");
    List<Double> jetty = new ArrayList<>();
    List<Double> jdk = new ArrayList<>();
    try (Cluster onJetty = node(dir.resolve("jetty"), false); Cluster onJdk = node(dir.resolve("jdk"), true)) {
      // Warm-up: as long as a round on each, so the JIT has compiled both paths before counting.
      measure(onJetty.apiUrl(), seconds, clients);
      measure(onJdk.apiUrl(), seconds, clients);
      for (int r = 0; r < rounds; r++) {
        jetty.add(measure(onJetty.apiUrl(), seconds, clients));
        jdk.add(measure(onJdk.apiUrl(), seconds, clients));
        System.out.printf(Locale.ROOT, "round %d: Jetty %.0f req/s, JDK HttpServer %.0f req/s%n", r + 1, jetty.get(r), jdk.get(r));
      }
    }
    double a = median(jetty);
    double b = median(jdk);
    System.out.printf(Locale.ROOT, "GET /api/v1/apps, %d clients, %d s rounds: Jetty median %.0f req/s, JDK HttpServer median %.0f req/s, ratio %.2f%n",
        clients, seconds, a, b, a / b);
  }

  private static Cluster node(Path dataDir, boolean jdk) {
    Cluster cluster = Hive.builder().dataDir(dataDir).httpPort(0).setting("hive.api.server", jdk ? "jdk" : "jetty").start();
    for (int i = 0; i < 20; i++) {
      // Zero replicas: the list has twenty apps to encode and no process runs.
      cluster.apps().deploy(AppSpec.builder("app-" + i).command("sleep 600").replicas(0).build());
    }
    return cluster;
  }

  private static double measure(String api, int seconds, int clients) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(api + "/api/v1/apps")).build();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong done = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
      Thread t = new Thread(() -> {
        while (running.get()) {
          try {
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            (response.statusCode() == 200 ? done : failed).incrementAndGet();
          } catch (Exception e) {
            failed.incrementAndGet();
          }
        }
      });
      t.start();
      threads.add(t);
    }
    long started = System.nanoTime();
    Thread.sleep(seconds * 1000L);
    running.set(false);
    long count = done.get();
    double elapsed = (System.nanoTime() - started) / 1e9;
    for (Thread t : threads) {
      t.join();
    }
    if (failed.get() > 0) {
      System.out.println("  " + failed.get() + " requests failed on " + api);
    }
    return count / elapsed;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }
}
