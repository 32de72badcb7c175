package dev.hive.examples;

import static org.awaitility.Awaitility.await;

import dev.hive.examples.cli.HiveCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A Hive daemon started from the launcher jar as a separate JVM, as an operator starts it, and
 * killed with SIGKILL when a test says so.
 */
final class DaemonProcess implements AutoCloseable {
  static final Path HIVE_JAR = Path.of(System.getProperty("hive.jar", "target/hive.jar"));

  final Path dataDir;
  final int port;
  private Process process;

  DaemonProcess(Path dataDir) throws IOException {
    this.dataDir = dataDir;
    try (ServerSocket s = new ServerSocket(0)) {
      this.port = s.getLocalPort();
    }
  }

  String api() {
    return "http://127.0.0.1:" + port;
  }

  DaemonProcess start() throws IOException {
    if (!Files.isRegularFile(HIVE_JAR)) {
      throw new IllegalStateException(HIVE_JAR + " is missing: run the integration tests with `mvn verify`, which builds it first");
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    process =
        new ProcessBuilder(java, "-jar", HIVE_JAR.toString(), "daemon", "--data-dir", dataDir.toString(), "--http-port", Integer.toString(port),
                "--setting", "hive.reconcile.stop-grace=3s")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolveSibling(dataDir.getFileName() + "-daemon.log").toFile()))
            .start();
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("the daemon exited with " + process.exitValue() + "; see its log next to " + dataDir);
      }
      return status("/api/v1/health") == 200;
    });
    return this;
  }

  long pid() {
    return process.pid();
  }

  /** SIGKILL: the daemon gets no chance to clean up. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  int status(String path) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(api() + path).toURL().openConnection();
    c.setConnectTimeout(1000);
    c.setReadTimeout(5000);
    try {
      return c.getResponseCode();
    } finally {
      c.disconnect();
    }
  }

  /** Runs a CLI command against this daemon, in this JVM. */
  CliResult cli(String... args) {
    List<String> all = new ArrayList<>(List.of("--api", api()));
    all.addAll(List.of(args));
    return run(all.toArray(String[]::new));
  }

  static CliResult run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = HiveCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new CliResult(code, out.toString(), err.toString());
  }

  record CliResult(int code, String out, String err) {}

  /** Pids of live processes whose environment holds {@code KEY=VALUE} (read from /proc). */
  static Set<Long> livePidsWithEnv(String keyValue) {
    Set<Long> pids = new TreeSet<>();
    byte[] needle = keyValue.getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      procs.filter(p -> p.getFileName().toString().matches("\\d+")).forEach(p -> {
        try {
          byte[] env = Files.readAllBytes(p.resolve("environ"));
          if (indexOf(env, needle) >= 0) {
            pids.add(Long.parseLong(p.getFileName().toString()));
          }
        } catch (IOException | RuntimeException e) {
          // Gone meanwhile, or not ours to read.
        }
      });
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return pids;
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      if (i > 0 && haystack[i - 1] != 0) {
        continue;
      }
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  static void killAll(Set<Long> pids) {
    pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      kill();
    }
  }
}
