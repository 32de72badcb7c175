package dev.hive.spi;

/** Provides a {@link Transport}, e.g. {@code tcp}, {@code libp2p}. */
public interface TransportProvider extends PluginProvider<Transport> {}
