package dev.hive.spi;

import dev.hive.api.HivePlugin;
import dev.hive.api.UnavailableException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Chooses and creates a plugin as SLF4J and Testcontainers do: a provider named explicitly wins;
 * otherwise the applicable providers are tried by descending priority (ties by name) until one
 * creates; when none does, one {@link UnavailableException} lists every provider tried and why it
 * failed. Providers handed over directly come before those found by {@link ServiceLoader}, and a
 * broken provider jar is recorded and skipped, never stopping the others.
 *
 * @param <P> the provider interface, e.g. {@link WorkloadRuntimeProvider}
 */
public final class ProviderSelection<P extends PluginProvider<?>> {
  private final String kind;
  private final List<P> providers;
  private final List<String> broken;

  private ProviderSelection(String kind, List<P> providers, List<String> broken) {
    this.kind = kind;
    this.providers = providers;
    this.broken = broken;
  }

  /**
   * Collects the providers of {@code type}: those in {@code given} of that type first, then those
   * {@link ServiceLoader} finds through {@code loader} whose name is not already taken.
   *
   * @param kind the word users know the plugin by, e.g. {@code runtime}
   */
  public static <P extends PluginProvider<?>> ProviderSelection<P> load(
      String kind, Class<P> type, List<? extends HivePlugin> given, ClassLoader loader) {
    Map<String, P> byName = new LinkedHashMap<>();
    for (HivePlugin plugin : given) {
      if (type.isInstance(plugin)) {
        byName.putIfAbsent(plugin.name(), type.cast(plugin));
      }
    }
    List<String> broken = new ArrayList<>();
    Iterator<P> it = ServiceLoader.load(type, loader).iterator();
    while (true) {
      P provider;
      try {
        if (!it.hasNext()) {
          break;
        }
        provider = it.next();
      } catch (ServiceConfigurationError | LinkageError e) {
        // SLF4J's habit: a provider that cannot even be instantiated is reported, not fatal.
        broken.add(e.getMessage() == null ? e.toString() : e.getMessage());
        continue;
      }
      byName.putIfAbsent(provider.name(), provider);
    }
    return new ProviderSelection<>(kind, List.copyOf(byName.values()), List.copyOf(broken));
  }

  /** Returns the providers found, by descending priority then name. */
  public List<P> providers() {
    List<P> sorted = new ArrayList<>(providers);
    sorted.sort(Comparator.comparingInt((P p) -> -p.priority()).thenComparing(PluginProvider::name));
    return sorted;
  }

  /** Returns the names of the providers found. */
  public List<String> names() {
    return providers().stream().map(PluginProvider::name).toList();
  }

  /** Returns one line per provider jar that could not be loaded. */
  public List<String> broken() {
    return broken;
  }

  /**
   * Creates the plugin named {@code name}, or, when {@code name} is null, the first applicable
   * provider by priority that creates.
   *
   * @return the created plugin and the provider that made it
   * @throws UnavailableException listing every provider tried and why, when none works
   */
  public <T> Selected<T> select(String name, ProviderConfig config, Class<T> pluginType) {
    List<String> attempts = new ArrayList<>();
    if (name != null) {
      for (P provider : providers) {
        if (provider.name().equals(name)) {
          try {
            return new Selected<>(provider.name(), pluginType.cast(provider.create(config)));
          } catch (RuntimeException e) {
            attempts.add(name + ": " + describe(e));
            throw failure("the " + kind + " '" + name + "' is not available", attempts, e);
          }
        }
      }
      throw failure("there is no " + kind + " named '" + name + "'; known: " + String.join(", ", names()), attempts, null);
    }
    RuntimeException last = null;
    for (P provider : providers()) {
      if (!provider.isApplicable()) {
        attempts.add(provider.name() + ": not applicable: " + provider.notApplicableReason());
        continue;
      }
      try {
        return new Selected<>(provider.name(), pluginType.cast(provider.create(config)));
      } catch (RuntimeException e) {
        attempts.add(provider.name() + ": " + describe(e));
        last = e;
      }
    }
    throw failure("no " + kind + " could be created", attempts, last);
  }

  private UnavailableException failure(String headline, List<String> attempts, Throwable cause) {
    StringBuilder message = new StringBuilder(headline);
    if (!attempts.isEmpty()) {
      message.append("; tried: ").append(String.join("; ", attempts));
    } else if (providers.isEmpty()) {
      message.append("; no provider is on the class path");
    }
    if (!broken.isEmpty()) {
      message.append("; broken provider jars: ").append(String.join("; ", broken));
    }
    return cause == null ? new UnavailableException(message.toString()) : new UnavailableException(message.toString(), cause);
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /**
   * A plugin and the name of the provider that created it.
   *
   * @param providerName the provider's name
   * @param plugin the created plugin
   * @param <T> the plugin's type
   */
  public record Selected<T>(String providerName, T plugin) {}
}
