package dev.hive.backend.podman;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.HiveException;
import dev.hive.spi.WorkloadStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Podman 4.3 (Debian 12's) answers an inspect with 500 "read /proc/N/cgroup: no such process" when
 * the container's process exits during the call (podman#16383). CI met it once, starting a
 * container that exits at once. Reproduced deterministically here by a libpod that answers so on
 * its Unix socket, as the real one did, before it reports the exit.
 */
class PodmanExitRaceTest {
  private static final String EXITED =
      "{\"Config\":{\"Labels\":{\"dev.hive.owner\":\"n1\",\"dev.hive.id\":\"w1\"}},"
          + "\"State\":{\"Running\":false,\"Pid\":0,\"ExitCode\":3,\"Status\":\"exited\",\"StartedAt\":\"2026-12-04T23:00:00Z\"}}";
  private static final String RACE = "{\"cause\":\"no such process\",\"message\":\"read /proc/12219/cgroup: no such process\",\"response\":500}";

  @TempDir Path dir;

  @Test
  void anInspectThatMeetsTheExitReportsTheExit() throws Exception {
    AtomicInteger inspects = new AtomicInteger();
    try (FakeLibpod podman = new FakeLibpod(dir.resolve("podman.sock"), n -> n < 2 ? reply(500, RACE) : reply(200, EXITED), inspects);
        PodmanRuntime runtime = new PodmanRuntime(new LibpodClient(podman.socket, Duration.ofSeconds(5)), "n1", Duration.ofHours(1))) {
      WorkloadStatus status = runtime.inspect("w1").orElseThrow();

      assertThat(status.state()).isEqualTo(WorkloadStatus.State.EXITED);
      assertThat(status.exitCode()).hasValue(3);
      assertThat(inspects).hasValue(3);
    }
  }

  @Test
  void anyOtherServerErrorIsReportedAtOnce() throws Exception {
    AtomicInteger inspects = new AtomicInteger();
    String broken = "{\"message\":\"database is locked\",\"response\":500}";
    try (FakeLibpod podman = new FakeLibpod(dir.resolve("podman.sock"), n -> reply(500, broken), inspects);
        PodmanRuntime runtime = new PodmanRuntime(new LibpodClient(podman.socket, Duration.ofSeconds(5)), "n1", Duration.ofHours(1))) {
      assertThatThrownBy(() -> runtime.inspect("w1")).isInstanceOf(HiveException.class).hasMessageContaining("database is locked");
      assertThat(inspects).hasValue(1);
    }
  }

  private static String reply(int status, String json) {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    return "HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n" + json;
  }

  /** Answers each GET on one Unix socket with what {@code answers} gives for the n-th inspect. */
  private static final class FakeLibpod implements AutoCloseable {
    final Path socket;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    FakeLibpod(Path socket, IntFunction<String> answers, AtomicInteger inspects) throws IOException {
      this.socket = socket;
      this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(socket));
      this.acceptor =
          new Thread(
              () -> {
                while (server.isOpen()) {
                  try (SocketChannel connection = server.accept()) {
                    InputStream in = Channels.newInputStream(connection);
                    OutputStream out = Channels.newOutputStream(connection);
                    for (String head = readHead(in); head != null; head = readHead(in)) {
                      String answer = head.contains("/json ") ? answers.apply(inspects.getAndIncrement()) : reply(404, "{\"message\":\"no such container\"}");
                      out.write(answer.getBytes(StandardCharsets.UTF_8));
                      out.flush();
                    }
                  } catch (IOException closed) {
                    // the test is over, or the client hung up: accept the next one
                  }
                }
              },
              "fake-libpod");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    /** A request's line and headers (every request here is a body-less GET), or null at the end. */
    private static String readHead(InputStream in) throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int b;
      while ((b = in.read()) != -1) {
        head.write(b);
        if (head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
          return head.toString(StandardCharsets.ISO_8859_1);
        }
      }
      return null;
    }

    @Override
    public void close() throws Exception {
      server.close();
      acceptor.join(5_000);
    }
  }
}
