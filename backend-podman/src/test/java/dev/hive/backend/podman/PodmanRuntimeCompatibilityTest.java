package dev.hive.backend.podman;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.kit.ContainerRuntimeCompatibilityKit;
import dev.hive.spi.kit.RequiredRuntime;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

class PodmanRuntimeCompatibilityTest extends ContainerRuntimeCompatibilityKit {
  @BeforeAll
  static void podmanIsThere() {
    PodmanRuntimeProvider provider = new PodmanRuntimeProvider();
    RequiredRuntime.require("podman", provider.isApplicable(), provider.isApplicable() ? "" : provider.notApplicableReason());
  }

  @Override
  protected WorkloadRuntime openRuntime(Path dataDir) {
    return new PodmanRuntimeProvider().create(new ProviderConfig(dataDir, "hive", "kit-podman", Clock.systemUTC(), Map.of()));
  }
}
