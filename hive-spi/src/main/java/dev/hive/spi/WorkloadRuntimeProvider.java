package dev.hive.spi;

/** Provides a {@link WorkloadRuntime}, e.g. {@code process}, {@code docker}, {@code podman}. */
public interface WorkloadRuntimeProvider extends PluginProvider<WorkloadRuntime> {}
