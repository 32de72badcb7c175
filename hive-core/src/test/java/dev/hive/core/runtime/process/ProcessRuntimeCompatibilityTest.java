package dev.hive.core.runtime.process;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.kit.WorkloadRuntimeCompatibilityKit;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

class ProcessRuntimeCompatibilityTest extends WorkloadRuntimeCompatibilityKit {
  @Override
  protected WorkloadRuntime openRuntime(Path dataDir) {
    return new ProcessRuntimeProvider().create(new ProviderConfig(dataDir, "hive", "n1", Clock.systemUTC(), Map.of()));
  }

  @Override
  protected WorkloadSpec.Builder printsMessageThenRuns(String id) {
    return WorkloadSpec.builder(id).command("echo $KIT_MESSAGE; exec sleep 600");
  }

  @Override
  protected WorkloadSpec.Builder exitsWith(String id, int code) {
    return WorkloadSpec.builder(id).command("exit " + code);
  }

  @Override
  protected WorkloadSpec.Builder ignoresSigterm(String id) {
    return WorkloadSpec.builder(id).command("trap '' TERM; echo trapped; while true; do sleep 1; done");
  }

  @Override
  protected WorkloadSpec.Builder servesHttp(String id) {
    return WorkloadSpec.builder(id).command("python3 -m http.server $PORT --bind 127.0.0.1");
  }

  @Override
  protected WorkloadSpec.Builder cannotStart(String id) {
    return WorkloadSpec.builder(id).command("/nonexistent/hive-kit-program --serve");
  }
}
