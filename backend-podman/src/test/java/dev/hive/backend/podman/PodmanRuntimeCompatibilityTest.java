package dev.hive.backend.podman;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.kit.RequiredRuntime;
import dev.hive.spi.kit.WorkloadRuntimeCompatibilityKit;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

class PodmanRuntimeCompatibilityTest extends WorkloadRuntimeCompatibilityKit {
  static final String IMAGE = "localhost/busybox:latest";

  @BeforeAll
  static void podmanIsThere() {
    PodmanRuntimeProvider provider = new PodmanRuntimeProvider();
    RequiredRuntime.require("podman", provider.isApplicable(), provider.isApplicable() ? "" : provider.notApplicableReason());
  }

  @Override
  protected WorkloadRuntime openRuntime(Path dataDir) {
    return new PodmanRuntimeProvider().create(new ProviderConfig(dataDir, "hive", "kit-podman", Clock.systemUTC(), Map.of()));
  }

  @Override
  protected WorkloadSpec.Builder printsMessageThenRuns(String id) {
    return WorkloadSpec.builder(id).image(IMAGE).command("echo $KIT_MESSAGE; exec sleep 600");
  }

  @Override
  protected WorkloadSpec.Builder exitsWith(String id, int code) {
    return WorkloadSpec.builder(id).image(IMAGE).command("exit " + code);
  }

  @Override
  protected WorkloadSpec.Builder ignoresSigterm(String id) {
    return WorkloadSpec.builder(id).image(IMAGE).command("trap '' TERM; echo trapped; while true; do sleep 1; done");
  }

  @Override
  protected WorkloadSpec.Builder servesHttp(String id) {
    return WorkloadSpec.builder(id).image(IMAGE).command("exec httpd -f -p 8080 -h /var/www");
  }

  @Override
  protected boolean execsInside() {
    return true;
  }

  @Override
  protected WorkloadSpec.Builder cannotStart(String id) {
    return WorkloadSpec.builder(id).image("localhost/hive-kit-no-such-image:latest");
  }
}
