package dev.hive.spi;

/** Provides a {@link Discovery}, e.g. {@code seeds}, {@code udp}, {@code mdns}, {@code libp2p}. */
public interface DiscoveryProvider extends PluginProvider<Discovery> {}
