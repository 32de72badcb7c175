package dev.hive.core.reconcile;

import dev.hive.api.HealthCheck;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs HTTP, TCP and exec checks against 127.0.0.1 on a small pool of its own threads. */
public final class NetworkHealthProber implements HealthProber, AutoCloseable {
  private final ExecutorService pool;

  /** Runs checks on {@code pool}, which this prober shuts down on close. */
  public NetworkHealthProber(ExecutorService pool) {
    this.pool = pool;
  }

  @Override
  public CompletableFuture<Result> probe(String instanceId, HealthCheck check, Map<String, Integer> hostPorts, dev.hive.spi.WorkloadRuntime inside) {
    Integer port = hostPorts.values().stream().findFirst().orElse(null);
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            switch (check.type()) {
              case HTTP:
                return http(port, check);
              case TCP:
                return tcp(port, check);
              default:
                return inside != null ? execInside(inside, instanceId, check) : exec(check, hostPorts);
            }
          } catch (IOException e) {
            return new Result(false, e.getClass().getSimpleName() + ": " + e.getMessage());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(false, "interrupted");
          }
        },
        pool);
  }

  private static Result execInside(dev.hive.spi.WorkloadRuntime runtime, String id, HealthCheck check) {
    try {
      int code = runtime.exec(id, check.command(), check.timeout());
      return new Result(code == 0, "exit " + code + " inside the container");
    } catch (dev.hive.api.HiveException e) {
      return new Result(false, e.getMessage());
    }
  }

  private static Result http(Integer port, HealthCheck check) throws IOException {
    if (port == null) {
      return new Result(false, "no port to check");
    }
    HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + check.path()).toURL().openConnection();
    int timeout = (int) check.timeout().toMillis();
    c.setConnectTimeout(timeout);
    c.setReadTimeout(timeout);
    c.setInstanceFollowRedirects(false);
    try {
      int status = c.getResponseCode();
      return new Result(status >= 200 && status < 400, "HTTP " + status);
    } finally {
      c.disconnect();
    }
  }

  private static Result tcp(Integer port, HealthCheck check) throws IOException {
    if (port == null) {
      return new Result(false, "no port to check");
    }
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), (int) check.timeout().toMillis());
      return new Result(true, "TCP connect to " + port);
    }
  }

  private static Result exec(HealthCheck check, Map<String, Integer> hostPorts) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(check.command()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    hostPorts.values().stream().findFirst().ifPresent(p -> pb.environment().put("PORT", Integer.toString(p)));
    Process p = pb.start();
    if (!p.waitFor(check.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      return new Result(false, "timed out after " + check.timeout().toMillis() + " ms");
    }
    return new Result(p.exitValue() == 0, "exit " + p.exitValue());
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
