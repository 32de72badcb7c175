package dev.hive.core.state;

import dev.hive.api.AppSpec;
import dev.hive.api.PortSpec;

/** Where an app's service is reached: the port every node's proxy listens on, and the port it forwards to. */
public final class ServicePorts {
  private ServicePorts() {}

  /** Returns the port the proxy listens on: the service port, or else the app's first port. */
  public static int listenPort(AppSpec spec) {
    return spec.servicePort() != 0 ? spec.servicePort() : spec.ports().get(0).port();
  }

  /** Returns the app's port that connections are forwarded to: its first port. */
  public static PortSpec target(AppSpec spec) {
    return spec.ports().get(0);
  }
}
