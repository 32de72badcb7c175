package dev.hive.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.UnavailableException;
import dev.hive.spi.ProviderConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DockerUnreachableTest {
  @TempDir Path dir;

  @Test
  void aDaemonThatIsDownIsNamed() {
    String host = "unix://" + dir.resolve("absent.sock");
    ProviderConfig config = new ProviderConfig(dir, "hive", "n1", Clock.systemUTC(), Map.of("hive.docker.host", host));
    assertThatThrownBy(() -> new DockerRuntimeProvider().create(config))
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining("docker is not reachable at " + host);
  }

  @Test
  void theApiVersionIsTheDaemonsCappedAtTheNewestKnownButNeverBelowItsMinimum() {
    assertThat(DockerRuntimeProvider.choose("1.41", "1.12")).isEqualTo("1.41");
    assertThat(DockerRuntimeProvider.choose("1.51", "1.44")).isEqualTo("1.44");
    assertThat(DockerRuntimeProvider.choose("1.52", "1.45")).isEqualTo("1.45");
    assertThat(DockerRuntimeProvider.choose("", "")).isEqualTo(DockerRuntimeProvider.NEWEST);
  }
}
