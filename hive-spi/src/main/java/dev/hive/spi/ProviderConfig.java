package dev.hive.spi;

import dev.hive.api.InvalidSpecException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** What a provider gets to create its plugin: where to keep files, who it runs for, settings. */
public final class ProviderConfig {
  private final Path dataDir;
  private final String clusterName;
  private final String nodeId;
  private final Clock clock;
  private final Map<String, String> settings;

  /**
   * @param dataDir a directory the plugin owns (created by the caller)
   * @param clusterName the cluster's name
   * @param nodeId the id of the node the plugin serves
   * @param clock the clock to read time from
   * @param settings free-form settings, e.g. {@code hive.process.grace=5s}
   */
  public ProviderConfig(Path dataDir, String clusterName, String nodeId, Clock clock, Map<String, String> settings) {
    this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
    this.clusterName = Objects.requireNonNull(clusterName, "clusterName");
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.settings = Map.copyOf(settings);
  }

  /** Returns the directory the plugin owns. */
  public Path dataDir() {
    return dataDir;
  }

  /** Returns the cluster's name. */
  public String clusterName() {
    return clusterName;
  }

  /** Returns the id of the node the plugin serves. */
  public String nodeId() {
    return nodeId;
  }

  /** Returns the clock to read time from. */
  public Clock clock() {
    return clock;
  }

  /** Returns a setting, if set. */
  public Optional<String> setting(String key) {
    return Optional.ofNullable(settings.get(key));
  }

  /**
   * Returns a duration setting written as {@code 500ms}, {@code 5s}, {@code 2m} or ISO-8601.
   *
   * @throws InvalidSpecException if it is set and is not a duration
   */
  public Duration duration(String key, Duration fallback) {
    String text = settings.get(key);
    if (text == null) {
      return fallback;
    }
    String t = text.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      } else if (t.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
      } else if (t.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      return Duration.parse(text.trim());
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new InvalidSpecException(key, "'" + text + "' is not a duration; write e.g. 500ms, 5s or 2m");
    }
  }

  /** Returns a copy whose data dir is {@code dir}. */
  public ProviderConfig withDataDir(Path dir) {
    return new ProviderConfig(dir, clusterName, nodeId, clock, settings);
  }
}
