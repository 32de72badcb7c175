package dev.hive.benchmarks;

import com.sun.net.httpserver.HttpServer;
import dev.hive.api.AppSpec;
import dev.hive.core.service.ServiceCatalog;
import dev.hive.core.service.ServiceEndpoint;
import dev.hive.core.service.ServiceProxy;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.StateMachine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Requests per second through Hive's service proxy vs straight to the one instance behind it, in
 * the same run, alternating rounds so both see the same machine. The instance is an HTTP server
 * (the JDK's, 4 threads, a 13-byte body); clients keep connections alive (each request a round
 * trip through the proxy) or open a connection per request (each also a new backend connection).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.ProxyThroughputHarness [seconds-per-round] [clients]</pre>
 */
public final class ProxyThroughputHarness {
  private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] REQUEST_CLOSE = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private ProxyThroughputHarness() {}

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int clients = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    // The JDK's server writes headers and body apart: without TCP_NODELAY each keep-alive request waits out a delayed ACK.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    HttpServer backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 512);
    byte[] body = "hello, hive\r\n".getBytes(StandardCharsets.US_ASCII);
    backend.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    backend.setExecutor(Executors.newFixedThreadPool(4));
    backend.start();
    int backendPort = backend.getAddress().getPort();

    int servicePort;
    try (ServerSocket probe = new ServerSocket(0)) {
      servicePort = probe.getLocalPort();
    }
    ServiceCatalog catalog = new ServiceCatalog("bench", Clock.systemUTC());
    ClusterState state = StateMachine.apply(ClusterState.EMPTY,
        new Command.DeployApp(AppSpec.builder("web").command("true").port(8080).service("web", servicePort).build(), 0));
    catalog.define(state);
    catalog.publishLocal(List.of(new ServiceEndpoint("web", "web", "web-0", "bench", "127.0.0.1", backendPort)));
    try (ServiceProxy proxy = new ServiceProxy(catalog, "127.0.0.1", ServiceProxy.Balancing.ROUND_ROBIN, Clock.systemUTC())) {
      proxy.sync();
      System.out.printf(Locale.ROOT, "%d clients, %d s per round, 2 cores%n", clients, seconds);
      for (boolean keepAlive : new boolean[] {true, false}) {
        run(keepAlive ? "keep-alive" : "connection per request", backendPort, servicePort, clients, seconds, keepAlive);
      }
    } finally {
      backend.stop(0);
      System.exit(0);
    }
  }

  private static void run(String mode, int direct, int proxied, int clients, int seconds, boolean keepAlive) throws Exception {
    measure(direct, clients, 1, keepAlive); // warm-up
    measure(proxied, clients, 1, keepAlive);
    List<Double> d = new ArrayList<>();
    List<Double> p = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      d.add(measure(direct, clients, seconds, keepAlive));
      p.add(measure(proxied, clients, seconds, keepAlive));
    }
    double directRate = median(d);
    double proxyRate = median(p);
    System.out.printf(Locale.ROOT, "%-24s direct %,9.0f req/s   through the proxy %,9.0f req/s   ratio %.2f  (rounds: direct %s, proxy %s)%n",
        mode, directRate, proxyRate, proxyRate / directRate, rounded(d), rounded(p));
  }

  private static String rounded(List<Double> rates) {
    return rates.stream().map(r -> String.format(Locale.ROOT, "%.0f", r)).toList().toString();
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(Double::compare);
    return sorted.get(sorted.size() / 2);
  }

  /** Runs {@code clients} threads sending GETs for {@code seconds}; returns requests per second. */
  private static double measure(int port, int clients, int seconds, boolean keepAlive) throws InterruptedException {
    AtomicLong done = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Thread t = new Thread(() -> {
        byte[] buffer = new byte[4096];
        Socket socket = null;
        try {
          while (System.nanoTime() < end) {
            if (socket == null) {
              socket = new Socket("127.0.0.1", port);
              socket.setTcpNoDelay(true);
            }
            OutputStream out = socket.getOutputStream();
            out.write(keepAlive ? REQUEST : REQUEST_CLOSE);
            if (!readResponse(socket.getInputStream(), buffer)) {
              errors.incrementAndGet();
            } else {
              done.incrementAndGet();
            }
            if (!keepAlive) {
              socket.close();
              socket = null;
            }
          }
        } catch (IOException e) {
          errors.incrementAndGet();
        } finally {
          if (socket != null) {
            try {
              socket.close();
            } catch (IOException e) {
              // Done.
            }
          }
        }
      });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    if (errors.get() > 0) {
      System.out.println("  (" + errors.get() + " failed requests on port " + port + ")");
    }
    return done.get() / (double) seconds;
  }

  /** Reads one response: headers, then Content-Length bytes of body. */
  private static boolean readResponse(InputStream in, byte[] buffer) throws IOException {
    StringBuilder head = new StringBuilder();
    int b;
    while ((b = in.read()) != -1) {
      head.append((char) b);
      if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
        break;
      }
    }
    if (b == -1) {
      return false;
    }
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    int read = 0;
    while (read < length) {
      int n = in.read(buffer, 0, Math.min(buffer.length, length - read));
      if (n < 0) {
        return false;
      }
      read += n;
    }
    return head.indexOf("HTTP/1.1 200") == 0;
  }
}
