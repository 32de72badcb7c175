package dev.hive.core.reconcile;

import dev.hive.api.HealthCheck;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Runs one health check of one instance without blocking the reconciler. */
public interface HealthProber {
  /**
   * The outcome of one check.
   *
   * @param passed whether the check passed
   * @param detail what was seen, e.g. "HTTP 200" or "connection refused"
   */
  record Result(boolean passed, String detail) {}

  /**
   * Starts one check of the instance whose host ports are {@code hostPorts}. An exec check runs
   * inside the workload through {@code inside} when it is given (a container runtime), else on
   * the host.
   */
  CompletableFuture<Result> probe(String instanceId, HealthCheck check, Map<String, Integer> hostPorts, dev.hive.spi.WorkloadRuntime inside);
}
