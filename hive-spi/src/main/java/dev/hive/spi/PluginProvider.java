package dev.hive.spi;

import dev.hive.api.HivePlugin;

/**
 * The shape every provider has: a name, a priority, a cheap applicability probe, and {@link
 * #create(ProviderConfig)} that either returns a working plugin or fails with the reason. Found
 * with {@link java.util.ServiceLoader} through {@code META-INF/services/<provider interface>}, or
 * handed to {@link dev.hive.api.Hive.Builder#plugin(HivePlugin)}.
 *
 * @param <T> what the provider creates
 */
public interface PluginProvider<T> extends HivePlugin {
  /** Returns the name users choose it by, e.g. {@code process}: lowercase, stable. */
  @Override
  String name();

  /** Returns its priority when no name is given: higher is tried first. */
  int priority();

  /**
   * Says, cheaply and without side effects, whether it could work here (a socket exists, a
   * native library loads). Providers that are not applicable are skipped unless named.
   */
  boolean isApplicable();

  /** Returns why {@link #isApplicable()} is false and how to change that; called only then. */
  default String notApplicableReason() {
    return "not applicable on this host";
  }

  /**
   * Creates the plugin.
   *
   * @throws dev.hive.api.HiveException with the reason when it cannot work here
   */
  T create(ProviderConfig config);
}
