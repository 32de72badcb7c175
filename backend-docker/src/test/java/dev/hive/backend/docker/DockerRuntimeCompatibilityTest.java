package dev.hive.backend.docker;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.kit.ContainerRuntimeCompatibilityKit;
import dev.hive.spi.kit.RequiredRuntime;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

class DockerRuntimeCompatibilityTest extends ContainerRuntimeCompatibilityKit {
  @BeforeAll
  static void dockerIsThere() {
    DockerRuntimeProvider provider = new DockerRuntimeProvider();
    RequiredRuntime.require("docker", provider.isApplicable(), provider.isApplicable() ? "" : provider.notApplicableReason());
  }

  @Override
  protected WorkloadRuntime openRuntime(Path dataDir) {
    return new DockerRuntimeProvider().create(new ProviderConfig(dataDir, "hive", "kit-docker", Clock.systemUTC(), Map.of()));
  }
}
