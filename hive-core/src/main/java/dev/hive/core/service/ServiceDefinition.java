package dev.hive.core.service;

import dev.hive.api.AppSpec;
import dev.hive.core.state.ServicePorts;

/**
 * A service as the cluster state defines it.
 *
 * @param name the service name (a DNS label)
 * @param app the app that provides it
 * @param listenPort the port every node's proxy listens on
 * @param targetPortName the name of the app port connections are forwarded to
 */
public record ServiceDefinition(String name, String app, int listenPort, String targetPortName) {
  /** Returns the service of {@code spec}, which must have one. */
  static ServiceDefinition of(AppSpec spec) {
    return new ServiceDefinition(spec.service(), spec.name(), ServicePorts.listenPort(spec), ServicePorts.target(spec).name());
  }
}
