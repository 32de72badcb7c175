package dev.hive.core.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.hive.api.AppSpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The proxy over real sockets, to real (in-process) backends. */
class ServiceProxyTest {
  private final List<AutoCloseable> open = new ArrayList<>();
  private final ServiceCatalog catalog = new ServiceCatalog("n1", Clock.systemUTC());
  private int servicePort;

  /**
   * A backend that answers each line with its name; {@code dies} makes it close a connection after
   * reading the request, without answering, as a killed process does.
   */
  private final class Backend implements AutoCloseable {
    final String name;
    final ServerSocket server;
    final AtomicInteger served = new AtomicInteger();
    volatile boolean dies;

    Backend(String name) throws IOException {
      this.name = name;
      this.server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::serve, "backend-" + name);
      t.setDaemon(true);
      t.start();
      open.add(this);
    }

    void serve() {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread t = new Thread(() -> answer(s));
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    void answer(Socket s) {
      try (s) {
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream();
        String line;
        while ((line = in.readLine()) != null) {
          if (dies) {
            s.setSoLinger(true, 0);
            return;
          }
          served.incrementAndGet();
          out.write((name + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
      } catch (IOException e) {
        // The client went.
      }
    }

    ServiceEndpoint endpoint() {
      return new ServiceEndpoint("web", "web-app", name, "n1", "127.0.0.1", server.getLocalPort());
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  private ServiceProxy proxy(ServiceProxy.Balancing balancing, Backend... backends) throws IOException {
    try (ServerSocket probe = new ServerSocket(0)) {
      servicePort = probe.getLocalPort();
    }
    catalog.define(ServiceDnsTest.withApps(AppSpec.builder("web-app").command("true").port(8080).service("web", servicePort).build()));
    List<ServiceEndpoint> endpoints = new ArrayList<>();
    for (Backend b : backends) {
      endpoints.add(b.endpoint());
    }
    catalog.publishLocal(endpoints);
    ServiceProxy proxy = new ServiceProxy(catalog, "127.0.0.1", balancing, Clock.systemUTC());
    open.add(proxy);
    proxy.sync();
    assertThat(proxy.problem("web")).isEmpty();
    return proxy;
  }

  /** One connection through the proxy: a request line, the answering backend's name. */
  private String request(String line) throws IOException {
    try (Socket s = new Socket("127.0.0.1", servicePort)) {
      s.setSoTimeout(5000);
      s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
      String answer = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
      return answer == null ? null : answer.split(" ")[0];
    } catch (java.net.SocketException e) {
      // Closed by the proxy before it read the request: a reset, as good as an end here.
      return null;
    }
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  @Test
  void roundRobinSpreadsConnectionsEvenly() throws Exception {
    Backend a = new Backend("a");
    Backend b = new Backend("b");
    Backend c = new Backend("c");
    proxy(ServiceProxy.Balancing.ROUND_ROBIN, a, b, c);
    Map<String, Long> counts = new ConcurrentHashMap<>();
    for (int i = 0; i < 30; i++) {
      counts.merge(request("hello " + i), 1L, Long::sum);
    }
    assertThat(counts).containsOnly(Map.entry("a", 10L), Map.entry("b", 10L), Map.entry("c", 10L));
  }

  @Test
  void leastConnectionsSendsNewConnectionsAwayFromABusyInstance() throws Exception {
    Backend a = new Backend("a");
    Backend b = new Backend("b");
    ServiceProxy proxy = proxy(ServiceProxy.Balancing.LEAST_CONNECTIONS, a, b);
    try (Socket held = new Socket("127.0.0.1", servicePort)) {
      held.getOutputStream().write("hold\n".getBytes(StandardCharsets.UTF_8));
      String busy = new BufferedReader(new InputStreamReader(held.getInputStream(), StandardCharsets.UTF_8)).readLine().split(" ")[0];
      assertThat(proxy.openConnections(busy)).isEqualTo(1);
      List<String> others = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        others.add(request("x"));
        String finished = others.get(others.size() - 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.openConnections(finished) == 0);
      }
      assertThat(others).as("the busy one is " + busy).doesNotContain(busy);
    }
  }

  @Test
  void anInstanceThatRefusesIsSkippedAndOneThatDiesBeforeAnsweringIsReplayedElsewhere() throws Exception {
    Backend good = new Backend("good");
    Backend dying = new Backend("dying");
    dying.dies = true;
    ServiceEndpoint refusing;
    try (ServerSocket gone = new ServerSocket(0)) {
      refusing = new ServiceEndpoint("web", "web-app", "refusing", "n1", "127.0.0.1", gone.getLocalPort());
    }
    ServiceProxy proxy = proxy(ServiceProxy.Balancing.ROUND_ROBIN, good, dying);
    catalog.publishLocal(List.of(good.endpoint(), dying.endpoint(), refusing));
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      answers.add(request("req " + i));
    }
    assertThat(answers).containsOnly("good");
    assertThat(good.served.get()).isEqualTo(12);
    assertThat(proxy.stats().get("web").replayed()).isPositive();
    assertThat(proxy.stats().get("web").failed()).isZero();
  }

  @Test
  void withNoHealthyInstanceTheConnectionIsClosedAndCounted() throws Exception {
    ServiceProxy proxy = proxy(ServiceProxy.Balancing.ROUND_ROBIN);
    assertThat(request("anyone")).isNull();
    await().atMost(Duration.ofSeconds(5)).until(() -> proxy.stats().get("web").failed() == 1);
  }

  @Test
  void aTakenPortIsReportedAndAGoneServiceClosesItsListener() throws Exception {
    Backend a = new Backend("a");
    ServiceProxy first = proxy(ServiceProxy.Balancing.ROUND_ROBIN, a);
    ServiceProxy second = new ServiceProxy(catalog, "127.0.0.1", ServiceProxy.Balancing.ROUND_ROBIN, Clock.systemUTC());
    open.add(second);
    second.sync();
    assertThat(second.problem("web")).hasValueSatisfying(p -> assertThat(p).contains("cannot listen on 127.0.0.1:" + servicePort));
    catalog.define(dev.hive.core.state.ClusterState.EMPTY);
    first.sync();
    assertThat(first.listening("web")).isEmpty();
    // The listener's accept thread lets go of the socket as it wakes up.
    await().atMost(Duration.ofSeconds(5)).ignoreExceptions().until(() -> {
      try (ServerSocket free = new ServerSocket(servicePort)) {
        return free.getLocalPort() == servicePort;
      }
    });
  }
}
