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

  /** Starts one check of the instance whose host ports are {@code hostPorts}. */
  CompletableFuture<Result> probe(String instanceId, HealthCheck check, Map<String, Integer> hostPorts);
}
