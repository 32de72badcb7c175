package dev.hive.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hive.examples.harness.DaemonProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * hive.jar is built for JDK 17 and runs on later JDKs too, where its I/O threads are virtual: the
 * daemon starts on the newest JDK under /usr/lib/jvm (or {@code -Dhive.newer.jdk=JAVA_HOME}) and
 * answers. Skipped, with the reason, where no JDK 21 or later is installed.
 */
class NewerJdkIT {
  /** A JDK of version 21 or later: the one named by hive.newer.jdk, else the newest under /usr/lib/jvm. */
  static Optional<Path> newerJdk() throws IOException {
    String named = System.getProperty("hive.newer.jdk");
    List<Path> candidates = new ArrayList<>();
    if (named != null) {
      candidates.add(Path.of(named));
    } else if (Files.isDirectory(Path.of("/usr/lib/jvm"))) {
      try (Stream<Path> homes = Files.list(Path.of("/usr/lib/jvm"))) {
        homes.forEach(candidates::add);
      }
    }
    Path best = null;
    int bestVersion = 20;
    for (Path home : candidates) {
      Path release = home.resolve("release");
      if (!Files.isRegularFile(release) || !Files.isExecutable(home.resolve("bin/java"))) {
        continue;
      }
      for (String line : Files.readAllLines(release)) {
        if (line.startsWith("JAVA_VERSION=")) {
          int major = Integer.parseInt(line.replaceAll("[^0-9.]", "").split("\\.")[0]);
          if (major > bestVersion) {
            best = home;
            bestVersion = major;
          }
        }
      }
    }
    return Optional.ofNullable(best);
  }

  @Test
  void theDaemonStartsAndAnswersOnANewerJdk() throws Exception {
    Optional<Path> jdk = newerJdk();
    assumeTrue(jdk.isPresent(), "no JDK 21 or later under /usr/lib/jvm (or -Dhive.newer.jdk): hive.jar is only tried on " + System.getProperty("java.version"));
    Path dir = Path.of("target", "newer-jdk-it", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
    Files.createDirectories(dir);
    int port = DaemonProcess.freePortPair();
    int http = DaemonProcess.freePortPair();
    Path log = dir.resolve("daemon.log");
    Process daemon = new ProcessBuilder(jdk.get().resolve("bin/java").toString(), "-jar", DaemonProcess.HIVE_JAR.toString(), "daemon", "--data-dir",
        dir.resolve("data").toString(), "--http-port", Integer.toString(http), "--port", Integer.toString(port), "--bind", "127.0.0.1", "--dns-port", "0")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      int status = 0;
      while (status != 200 && System.nanoTime() < deadline) {
        assertThat(daemon.isAlive()).as("the daemon exited on %s: %s", jdk.get(), Files.exists(log) ? Files.readString(log) : "").isTrue();
        try {
          java.net.HttpURLConnection c = (java.net.HttpURLConnection) java.net.URI.create("http://127.0.0.1:" + http + "/api/v1/health").toURL()
              .openConnection();
          status = c.getResponseCode();
          c.disconnect();
        } catch (IOException e) {
          Thread.sleep(200);
        }
      }
      assertThat(status).as("health on %s; log: %s", jdk.get(), Files.readString(log)).isEqualTo(200);
    } finally {
      daemon.destroy();
      if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
        daemon.destroyForcibly();
      }
    }
  }
}
