package dev.hive.spi;

/** Provides a {@link Store}, e.g. {@code sqlite}. */
public interface StoreProvider extends PluginProvider<Store> {}
