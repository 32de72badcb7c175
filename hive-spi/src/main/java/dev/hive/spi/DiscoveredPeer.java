package dev.hive.spi;

/**
 * A node found by a discovery plugin, and where its transport listens.
 *
 * @param nodeId the node's id
 * @param host its transport's host or address
 * @param port its transport's port
 */
public record DiscoveredPeer(String nodeId, String host, int port) {}
