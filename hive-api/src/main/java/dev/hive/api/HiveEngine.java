package dev.hive.api;

/**
 * The engine behind {@link Hive.Builder#start()}, found with {@link java.util.ServiceLoader}.
 * {@code hive-core} provides it; applications do not implement it.
 */
public interface HiveEngine {
  /**
   * Starts a node from {@code config}.
   *
   * @throws HiveException if it cannot start; the message says why
   */
  Cluster start(HiveConfig config);
}
