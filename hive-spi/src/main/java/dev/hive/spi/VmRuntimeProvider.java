package dev.hive.spi;

/** Provides a {@link VmRuntime}, e.g. {@code libvirt}. */
public interface VmRuntimeProvider extends PluginProvider<VmRuntime> {}
