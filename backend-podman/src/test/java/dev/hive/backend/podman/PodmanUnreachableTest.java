package dev.hive.backend.podman;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.UnavailableException;
import dev.hive.spi.ProviderConfig;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A podman that is not there, or not answering, is an error naming the socket; nothing hangs. */
class PodmanUnreachableTest {
  @TempDir Path dir;

  private ProviderConfig config(Path socket) {
    return new ProviderConfig(dir, "hive", "n1", Clock.systemUTC(), Map.of("hive.podman.socket", socket.toString(), "hive.podman.timeout", "2s"));
  }

  @Test
  void aMissingSocketIsNamed() {
    Path socket = dir.resolve("absent.sock");
    assertThatThrownBy(() -> new PodmanRuntimeProvider().create(config(socket)))
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining(socket.toString());
  }

  @Test
  void aSocketNobodyServesIsNamed() throws IOException {
    Path socket = dir.resolve("silent.sock");
    // Bound but never accepted from: the ping times out instead of hanging.
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      assertThatThrownBy(() -> new PodmanRuntimeProvider().create(config(socket)))
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining("podman is not reachable at unix://" + socket);
    }
  }
}
