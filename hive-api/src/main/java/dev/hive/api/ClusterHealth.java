package dev.hive.api;

import java.util.Map;

/** The outcome of a health check of the cluster as seen from the local node. */
public interface ClusterHealth {
  /** Returns true when every check passed. */
  boolean healthy();

  /** Returns each check by name, with "ok" or what is wrong. */
  Map<String, String> checks();
}
