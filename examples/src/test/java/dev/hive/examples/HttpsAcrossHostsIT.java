package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.NetnsHosts;
import dev.hive.examples.harness.DaemonProcess.CliResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API reached from another host: a daemon in one network namespace with
 * {@code --http-bind 0.0.0.0}, the CLI in another. HTTPS with the cluster CA and a token works;
 * without a token, over plain HTTP, or without the CA it does not. Needs root (for namespaces):
 * skipped without it, a failure under CI=true.
 */
class HttpsAcrossHostsIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final String prefix = "hs" + Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36), 36);
  private final String subnet = "10.97." + ThreadLocalRandom.current().nextInt(1, 250);
  private Process daemon;

  @TempDir Path dir;

  @BeforeEach
  void hosts() throws Exception {
    NetnsRoot.require();
    NetnsHosts.up(prefix, subnet, 2);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (daemon != null) {
      daemon.destroyForcibly();
      daemon.waitFor(10, TimeUnit.SECONDS);
    }
    NetnsHosts.down(prefix, 2);
  }

  /** The hive CLI on host 2, with no data dir of its own to find a CA or a token in. */
  private CliResult cliOnHost2(String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", prefix + "2", NetnsHosts.java(), "-jar", DaemonProcess.HIVE_JAR.toString()));
    argv.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().put("HOME", dir.resolve("nohome").toString());
    pb.environment().remove("HIVE_API_TOKEN");
    pb.environment().remove("HIVE_DATA_DIR");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new CliResult(p.exitValue(), out, err);
  }

  @Test
  void theCliOnAnotherHostUsesHttpsWithTheClusterCaAndAToken() throws Exception {
    Path data = dir.resolve("h1");
    Path log = dir.resolve("h1.log");
    daemon = new ProcessBuilder("ip", "netns", "exec", prefix + "1", NetnsHosts.java(), "-jar", DaemonProcess.HIVE_JAR.toString(), "daemon",
        "--data-dir", data.toString(), "--http-port", "3000", "--http-bind", "0.0.0.0", "--port", "7946", "--bind", subnet + ".1",
        "--dns-port", "-1", "--node-name", "h1").redirectErrorStream(true).redirectOutput(log.toFile()).start();
    String https = "https://" + subnet + ".1:3000";
    Path ca = data.resolve("tls").resolve("ca.crt");
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).until(() -> Files.exists(data.resolve("api-token"))
        && cliOnHost2("--api", https, "--ca-cert", ca.toString(), "health").code() == 0);
    String token = Files.readString(data.resolve("api-token")).strip();

    CliResult withToken = cliOnHost2("--api", https, "--ca-cert", ca.toString(), "--api-token", token, "node", "ls", "--output", "json");
    assertThat(withToken.code()).as(withToken.err()).isZero();
    assertThat(MAPPER.readTree(withToken.out()).get(0).path("name").asText()).isEqualTo("h1");

    CliResult noToken = cliOnHost2("--api", https, "--ca-cert", ca.toString(), "node", "ls");
    assertThat(noToken.code()).isEqualTo(1);
    assertThat(noToken.err()).contains("needs a token");

    CliResult plain = cliOnHost2("--api", "http://" + subnet + ".1:3000", "--api-token", token, "node", "ls");
    assertThat(plain.code()).as(plain.out()).isEqualTo(1);
    assertThat(plain.out()).doesNotContain("h1");

    CliResult untrusted = cliOnHost2("--api", https, "--api-token", token, "node", "ls");
    assertThat(untrusted.code()).isEqualTo(1);
    assertThat(untrusted.err()).contains("does not trust").contains("--ca-cert");
  }
}
