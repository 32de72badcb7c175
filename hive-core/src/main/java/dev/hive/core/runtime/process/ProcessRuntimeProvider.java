package dev.hive.core.runtime.process;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadRuntimeProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Provides the {@code process} runtime: workloads as OS processes, needing nothing installed but
 * a POSIX shell. Settings: {@code hive.process.max-log-bytes} (default 10 MiB per log file),
 * {@code hive.process.cgroups} ({@code auto} or {@code off}).
 */
public final class ProcessRuntimeProvider implements WorkloadRuntimeProvider {
  @Override
  public String name() {
    return "process";
  }

  @Override
  public int priority() {
    return 10;
  }

  @Override
  public boolean isApplicable() {
    return Files.isExecutable(Path.of("/bin/sh"));
  }

  @Override
  public String notApplicableReason() {
    return "/bin/sh is missing; the process runtime needs a POSIX shell";
  }

  @Override
  public WorkloadRuntime create(ProviderConfig config) {
    long maxLogBytes = config.setting("hive.process.max-log-bytes").map(Long::parseLong).orElse(10L * 1024 * 1024);
    CgroupLimits cgroups =
        config.setting("hive.process.cgroups").orElse("auto").equals("off")
            ? CgroupLimits.none("cgroups turned off by hive.process.cgroups=off")
            : CgroupLimits.detect(Path.of("/sys/fs/cgroup"), "hive");
    boolean inheritEnv = config.setting("hive.process.env-inherit").map(Boolean::parseBoolean).orElse(false);
    return new ProcessRuntime(config.dataDir(), cgroups, maxLogBytes, config.duration("hive.process.housekeeping", Duration.ofSeconds(1)), inheritEnv);
  }
}
