package dev.hive.core.node;

import dev.hive.api.UnavailableException;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.ProviderSelection;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadRuntimeProvider;
import dev.hive.spi.WorkloadStatus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The node's workload runtimes: the default one, chosen at start, and any other the node's
 * providers can create, made on first use by name. Each runtime keeps its files in {@code
 * <data-dir>/runtime/<name>}.
 */
final class RuntimeRegistry implements AutoCloseable {
  private final ProviderSelection<WorkloadRuntimeProvider> selection;
  private final ProviderConfig baseConfig;
  private final Path runtimeRoot;
  private final String defaultName;
  private final Map<String, WorkloadRuntime> created = new LinkedHashMap<>();
  private final List<Consumer<WorkloadStatus>> exitListeners = new CopyOnWriteArrayList<>();

  RuntimeRegistry(ProviderSelection<WorkloadRuntimeProvider> selection, ProviderConfig baseConfig, Path runtimeRoot, String explicitDefault) {
    this.selection = selection;
    this.baseConfig = baseConfig;
    this.runtimeRoot = runtimeRoot;
    if (explicitDefault != null) {
      get(explicitDefault);
      this.defaultName = explicitDefault;
    } else {
      // By priority among the applicable; the config's data dir is fixed once the name is known.
      String chosen = null;
      List<String> attempts = new ArrayList<>();
      for (WorkloadRuntimeProvider p : selection.providers()) {
        if (!p.isApplicable()) {
          attempts.add(p.name() + ": not applicable: " + p.notApplicableReason());
          continue;
        }
        try {
          get(p.name());
          chosen = p.name();
          break;
        } catch (UnavailableException e) {
          attempts.add(p.name() + ": " + e.getMessage());
        }
      }
      if (chosen == null) {
        throw new UnavailableException("no workload runtime could be created; tried: " + attempts);
      }
      this.defaultName = chosen;
    }
    // Every other runtime that could work here is made now, so the node offers it to placement
    // (a container runtime beside the process one); one that fails is only logged.
    for (WorkloadRuntimeProvider p : selection.providers()) {
      if (!created.containsKey(p.name()) && p.isApplicable()) {
        try {
          get(p.name());
        } catch (RuntimeException e) {
          org.slf4j.LoggerFactory.getLogger(RuntimeRegistry.class).info("runtime {} is not available: {}", p.name(), e.getMessage());
        }
      }
    }
  }

  /**
   * Returns the runtime to run an image when the app names none: the default if it runs images,
   * else the first made here that does.
   *
   * @throws UnavailableException if no runtime here runs images
   */
  synchronized String imageRuntimeName() {
    if (created.get(defaultName).capabilities().runsImages()) {
      return defaultName;
    }
    for (Map.Entry<String, WorkloadRuntime> e : created.entrySet()) {
      if (e.getValue().capabilities().runsImages()) {
        return e.getKey();
      }
    }
    throw new UnavailableException("no runtime on this node runs images (it has " + created.keySet() + "); start podman or dockerd, "
        + "or name one with --runtime");
  }

  String defaultName() {
    return defaultName;
  }

  /** Returns the names of runtimes this node has created. */
  synchronized List<String> names() {
    return new ArrayList<>(created.keySet());
  }

  /** Returns every runtime provider's name, created or not. */
  List<String> known() {
    return selection.names();
  }

  synchronized Map<String, WorkloadRuntime> createdRuntimes() {
    return new LinkedHashMap<>(created);
  }

  /**
   * Returns the runtime named {@code name}, creating it on first use.
   *
   * @throws UnavailableException naming the runtime, with why, when it cannot be had
   */
  synchronized WorkloadRuntime get(String name) {
    WorkloadRuntime runtime = created.get(name);
    if (runtime != null) {
      return runtime;
    }
    ProviderConfig config = baseConfig.withDataDir(runtimeRoot.resolve(name));
    try {
      java.nio.file.Files.createDirectories(config.dataDir());
    } catch (java.io.IOException e) {
      throw new UnavailableException("cannot create " + config.dataDir() + ": " + e.getMessage(), e);
    }
    runtime = selection.select(name, config, WorkloadRuntime.class).plugin();
    runtime.onExit(s -> exitListeners.forEach(l -> l.accept(s)));
    created.put(name, runtime);
    return runtime;
  }

  void onExit(Consumer<WorkloadStatus> listener) {
    exitListeners.add(listener);
  }

  @Override
  public synchronized void close() {
    created.values().forEach(WorkloadRuntime::close);
    created.clear();
  }
}
