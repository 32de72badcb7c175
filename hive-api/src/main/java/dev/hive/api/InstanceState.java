package dev.hive.api;

/** The life of one instance of an app, as its node's reconciler sees it. */
public enum InstanceState {
  /** Assigned to a node, not started yet (or waiting out a restart backoff). */
  PENDING,
  /** Started; its health check has not passed yet. */
  STARTING,
  /** Running, and it has no health check. */
  RUNNING,
  /** Running and passing its health check. */
  HEALTHY,
  /** Running but failing its health check beyond the threshold; it is about to be restarted. */
  UNHEALTHY,
  /** Exited with code 0, or stopped by Hive. */
  STOPPED,
  /** Could not start, exited with a non-zero code, or was killed; {@code reason} says why. */
  FAILED;

  /** Returns true for the states in which the workload is running. */
  public boolean isRunning() {
    return this == STARTING || this == RUNNING || this == HEALTHY || this == UNHEALTHY;
  }
}
