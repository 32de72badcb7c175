package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hive.examples.harness.ClusterOps;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Service discovery across three daemons: {@code dig} (Debian's dnsutils) asks a node's DNS server
 * for {@code web.hive} and {@code _web._tcp.hive} and sees every healthy instance in the cluster,
 * a killed one drops out and an unknown name is NXDOMAIN; 1,000 HTTP requests through a node's
 * proxy all succeed while a replica is SIGKILLed half way, and every replica served some; bad
 * service names, a taken service name and a taken port are refused clearly.
 */
class ServiceIT {
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  /** Each instance serves its own id, so a response says which replica answered. */
  private static final String WHOAMI = "d=$(mktemp -d) && echo $HIVE_INSTANCE > $d/index.html && exec python3 -m http.server $PORT --bind 127.0.0.1 --directory $d";
  private final String mark = "IT_MARK=" + UUID.randomUUID();
  private final List<DaemonProcess> daemons = new ArrayList<>();
  private final Path dir = Path.of("target", "service-it", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();

  @AfterEach
  void stopAll() throws Exception {
    for (DaemonProcess d : daemons) {
      d.close();
    }
    DaemonProcess.killAll(DaemonProcess.livePidsWithEnv(mark));
  }

  static boolean digWorks() {
    try {
      return new ProcessBuilder("dig", "-v").redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Runs {@code dig +short} against a node's DNS server; returns the answer lines. */
  static List<String> dig(int port, String name, String type) throws Exception {
    Process p = new ProcessBuilder("dig", "@127.0.0.1", "-p", Integer.toString(port), name, type, "+short", "+tries=1", "+time=2")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(10, TimeUnit.SECONDS);
    return out.isBlank() ? List.of() : List.of(out.strip().split("\n"));
  }

  static String digStatus(int port, String name) throws Exception {
    Process p = new ProcessBuilder("dig", "@127.0.0.1", "-p", Integer.toString(port), name, "A", "+tries=1", "+time=2").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(10, TimeUnit.SECONDS);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("status: (\\w+)").matcher(out);
    return m.find() ? m.group(1) : out;
  }

  private List<JsonNode> healthy(DaemonProcess d, String app) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode i : ClusterOps.instances(d)) {
      if (i.path("app").asText().equals(app) && i.path("healthy").asBoolean()) {
        out.add(i);
      }
    }
    return out;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void dnsAndTheProxyServeHealthyInstancesClusterWideThroughAKill() throws Exception {
    dev.hive.spi.kit.RequiredRuntime.require("dig", digWorks(), "dig is not installed (Debian: bind9-dnsutils; scripts/setup-host.sh installs it)");
    Files.createDirectories(dir);
    ClusterOps.formCluster(dir, 3, daemons);
    DaemonProcess entry = daemons.get(0);
    int servicePort = freePort();
    CliResult deploy = entry.cli("app", "deploy", "--name", "web", "--command", WHOAMI, "--port", Integer.toString(servicePort), "--replicas", "3",
        "--anti-affinity", "--health-http", "/", "--service", "web", "--env", mark);
    assertThat(deploy.code()).as(deploy.err()).isZero();
    await().atMost(PATIENCE).ignoreExceptions().until(() -> healthy(entry, "web").size() == 3);
    Map<String, Integer> hostPortOf = new HashMap<>();
    healthy(entry, "web").forEach(i -> hostPortOf.put(i.path("id").asText(), i.path("ports").path(Integer.toString(servicePort)).asInt()));

    // Any node's DNS answers for the whole cluster: ask the third one.
    DaemonProcess third = daemons.get(2);
    int dnsPort = third.getJson("/api/v1/node").path("details").path("services").path("dnsPort").asInt();
    await().atMost(Duration.ofSeconds(10)).until(() -> dig(dnsPort, "_web._tcp.hive", "SRV").size() == 3);
    assertThat(dig(dnsPort, "web.hive", "A")).containsExactly("127.0.0.1");
    List<String> srv = dig(dnsPort, "_web._tcp.hive", "SRV");
    assertThat(srv).extracting(line -> Integer.parseInt(line.split(" ")[2])).containsExactlyInAnyOrderElementsOf(hostPortOf.values());
    assertThat(digStatus(dnsPort, "nope.hive")).isEqualTo("NXDOMAIN");
    CliResult endpoints = third.cli("service", "endpoints", "web");
    assertThat(endpoints.out()).contains(hostPortOf.keySet().toArray(String[]::new));
    CliResult ls = entry.cli("service", "ls");
    assertThat(ls.out()).contains("web.hive", Integer.toString(servicePort), "listening");

    // Kill an instance on another node than the asked one: it leaves the answer.
    String thirdId = ClusterOps.nodeId(third);
    JsonNode victim = healthy(entry, "web").stream().filter(i -> !i.path("node").asText().equals(thirdId)).findFirst().orElseThrow();
    int victimPort = hostPortOf.get(victim.path("id").asText());
    new ProcessBuilder("kill", "-KILL", "--", "-" + victim.path("pid").asLong()).start().waitFor();
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
        .until(() -> dig(dnsPort, "_web._tcp.hive", "SRV").stream().noneMatch(line -> line.contains(" " + victimPort + " ")));
    await().atMost(PATIENCE).ignoreExceptions().until(() -> healthy(entry, "web").size() == 3 && dig(dnsPort, "_web._tcp.hive", "SRV").size() == 3);

    // 1,000 requests through the entry node's proxy; a replica is SIGKILLed after the 500th.
    String proxyHost = entry.getJson("/api/v1/node").path("details").path("services").path("proxyAddress").asText();
    URI uri = URI.create("http://" + proxyHost + ":" + servicePort + "/");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Map<String, Integer> servedBy = new HashMap<>();
    List<String> errors = new ArrayList<>();
    String killed = null;
    for (int n = 0; n < 1000; n++) {
      if (n == 500) {
        JsonNode target = healthy(entry, "web").get(0);
        killed = target.path("id").asText();
        new ProcessBuilder("kill", "-KILL", "--", "-" + target.path("pid").asLong()).start().waitFor();
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          servedBy.merge(r.body().strip(), 1, Integer::sum);
        } else {
          errors.add(n + ": HTTP " + r.statusCode());
        }
      } catch (IOException e) {
        errors.add(n + ": " + e);
      }
    }
    assertThat(errors).isEmpty();
    assertThat(servedBy.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(1000);
    assertThat(servedBy.keySet()).as("every replica served some").containsAll(hostPortOf.keySet());
    assertThat(servedBy).as("the killed one served until it died").containsKey(killed);
    JsonNode stats = entry.getJson("/api/v1/services/web").path("proxy");
    assertThat(stats.path("connections").asLong()).isGreaterThanOrEqualTo(1000);

    // Bad input: each refused with what was wrong and how to fix it.
    CliResult label = entry.cli("app", "deploy", "--name", "bad", "--command", "sleep 1", "--port", "9", "--service", "webapp.local");
    assertThat(label.code()).isNotZero();
    assertThat(label.err()).contains("is not a service name", "DNS label");
    CliResult twice = entry.cli("app", "deploy", "--name", "web2", "--command", WHOAMI, "--port", Integer.toString(freePort()), "--service", "web");
    assertThat(twice.code()).isNotZero();
    assertThat(twice.err()).contains("service 'web' is already app 'web''s");
    try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getByName(proxyHost))) {
      CliResult port = entry.cli("app", "deploy", "--name", "api", "--command", WHOAMI, "--port", Integer.toString(taken.getLocalPort()), "--service", "api");
      assertThat(port.code()).isNotZero();
      assertThat(port.err()).contains("service port " + taken.getLocalPort() + " is taken", "--service-port");
    }
    List<String> apps = new ArrayList<>();
    entry.getJson("/api/v1/apps").forEach(a -> apps.add(a.path("name").asText()));
    assertThat(apps).containsExactly("web");
  }
}
