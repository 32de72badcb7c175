package dev.hive.spi;

import dev.hive.api.HiveException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Runs workloads on one node: OS processes, containers. Implementations are thread-safe. Every
 * implementation passes {@code WorkloadRuntimeCompatibilityKit} from hive-spi's test-jar.
 */
public interface WorkloadRuntime extends AutoCloseable {
  /** Returns the runtime's name, as users choose it. */
  String name();

  /** Returns what it can do on this host. */
  RuntimeCapabilities capabilities();

  /**
   * Starts a workload. On failure nothing is left behind.
   *
   * @return its status right after the start
   * @throws HiveException if it cannot be started, saying why (e.g. the program does not exist)
   */
  WorkloadStatus start(WorkloadSpec spec);

  /**
   * Asks the workload to stop (SIGTERM or the runtime's equivalent) and kills it when it has not
   * stopped after {@code grace}. Returns once it has stopped; a no-op for an unknown or exited id.
   */
  void stop(String id, Duration grace);

  /** Stops the workload at once if it runs and forgets it, with its files. Unknown ids are ignored. */
  void remove(String id);

  /** Returns the workload's status, or empty if the runtime does not know it. */
  Optional<WorkloadStatus> inspect(String id);

  /**
   * Returns every workload known to the runtime that carries all of {@code labels}, running or
   * exited, including those started before this runtime object existed (so an agent that
   * restarts adopts them instead of starting duplicates).
   */
  List<WorkloadStatus> list(Map<String, String> labels);

  /** Returns the last {@code lines} lines of the workload's output, oldest first; empty if unknown. */
  List<String> logs(String id, int lines);

  /** Returns the workload's resource use, or empty if unknown or exited. */
  Optional<WorkloadStats> stats(String id);

  /**
   * Runs {@code command} inside a running workload (a container's own file system and network)
   * and returns its exit code; used by exec health checks of container workloads.
   *
   * @throws HiveException if the runtime cannot run commands inside its workloads, the workload is
   *     not running, or the command did not finish within {@code timeout}
   */
  default int exec(String id, List<String> command, Duration timeout) {
    throw new HiveException("the " + name() + " runtime cannot run a command inside a workload; its exec checks run on the host");
  }

  /**
   * Calls {@code listener} when a workload this runtime watches exits. Delivery is prompt but not
   * guaranteed; callers also poll {@link #inspect(String)}.
   */
  void onExit(Consumer<WorkloadStatus> listener);

  /** Releases the runtime's own resources; running workloads keep running. */
  @Override
  void close();
}
