package dev.hive.api;

/**
 * Marks a plugin provider (a workload runtime, store, discovery or transport provider from
 * {@code hive-spi}) that an application hands to {@link Hive.Builder#plugin(HivePlugin)} instead
 * of letting {@link java.util.ServiceLoader} find it.
 */
public interface HivePlugin {
  /** Returns the provider's name, e.g. {@code process} or {@code sqlite}. */
  String name();
}
