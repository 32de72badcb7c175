package dev.hive.spi;

/**
 * A declared port and the host port given to it for one workload.
 *
 * @param name the port's name
 * @param port the declared port (inside a container)
 * @param hostPort the port on the host
 */
public record PortBinding(String name, int port, int hostPort) {}
