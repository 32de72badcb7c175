package dev.hive.api;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How Hive decides that an instance is healthy: an HTTP GET, a TCP connect or a command, repeated
 * every {@link #interval()}. An instance becomes HEALTHY after {@link #healthyThreshold()}
 * consecutive passes and UNHEALTHY (and is restarted) after {@link #unhealthyThreshold()}
 * consecutive failures. Immutable; build with {@link #http(String)}, {@link #tcp()} or {@link
 * #exec(List)} and adjust with the {@code with...} methods, each of which validates its argument.
 */
public final class HealthCheck {
  /** The kinds of check. */
  public enum Type {
    /** An HTTP GET on the first port whose status is 2xx or 3xx. */
    HTTP,
    /** A TCP connect to the first port. */
    TCP,
    /** A command run beside the workload that exits 0. */
    EXEC
  }

  private final Type type;
  private final String path;
  private final List<String> command;
  private final Duration interval;
  private final Duration timeout;
  private final int healthyThreshold;
  private final int unhealthyThreshold;

  private HealthCheck(
      Type type, String path, List<String> command, Duration interval, Duration timeout, int healthy, int unhealthy) {
    this.type = type;
    this.path = path;
    this.command = command;
    this.interval = interval;
    this.timeout = timeout;
    this.healthyThreshold = healthy;
    this.unhealthyThreshold = unhealthy;
  }

  /**
   * An HTTP GET of {@code path} on the instance's first port.
   *
   * @throws InvalidSpecException if the path does not start with '/'
   */
  public static HealthCheck http(String path) {
    if (path == null || !path.startsWith("/") || path.chars().anyMatch(Character::isWhitespace)) {
      throw new InvalidSpecException("health-http", "path '" + path + "' must start with '/' and hold no spaces");
    }
    return new HealthCheck(Type.HTTP, path, List.of(), Duration.ofSeconds(2), Duration.ofSeconds(1), 1, 3);
  }

  /** A TCP connect to the instance's first port. */
  public static HealthCheck tcp() {
    return new HealthCheck(Type.TCP, null, List.of(), Duration.ofSeconds(2), Duration.ofSeconds(1), 1, 3);
  }

  /**
   * A command, run in the instance's working directory with its environment, that exits 0 when
   * the instance is healthy.
   *
   * @throws InvalidSpecException if the command is empty
   */
  public static HealthCheck exec(List<String> command) {
    if (command == null || command.isEmpty() || command.get(0).isBlank()) {
      throw new InvalidSpecException("health-exec", "the command is empty; give the program and its arguments");
    }
    return new HealthCheck(Type.EXEC, null, List.copyOf(command), Duration.ofSeconds(2), Duration.ofSeconds(1), 1, 3);
  }

  /**
   * Returns a copy that checks every {@code interval}.
   *
   * @throws InvalidSpecException if the interval is under 100 ms or over 1 hour
   */
  public HealthCheck withInterval(Duration interval) {
    requireBetween("health-interval", interval, Duration.ofMillis(100), Duration.ofHours(1));
    return new HealthCheck(type, path, command, interval, timeout, healthyThreshold, unhealthyThreshold);
  }

  /**
   * Returns a copy whose single check gives up after {@code timeout}.
   *
   * @throws InvalidSpecException if the timeout is under 10 ms or over 10 minutes
   */
  public HealthCheck withTimeout(Duration timeout) {
    requireBetween("health-timeout", timeout, Duration.ofMillis(10), Duration.ofMinutes(10));
    return new HealthCheck(type, path, command, interval, timeout, healthyThreshold, unhealthyThreshold);
  }

  /**
   * Returns a copy with the given thresholds.
   *
   * @param healthy consecutive passes that make an instance HEALTHY (1..100)
   * @param unhealthy consecutive failures that make it UNHEALTHY (1..100)
   * @throws InvalidSpecException if a threshold is outside 1..100
   */
  public HealthCheck withThresholds(int healthy, int unhealthy) {
    if (healthy < 1 || healthy > 100) {
      throw new InvalidSpecException("health-healthy-threshold", healthy + " is outside 1..100");
    }
    if (unhealthy < 1 || unhealthy > 100) {
      throw new InvalidSpecException("health-unhealthy-threshold", unhealthy + " is outside 1..100");
    }
    return new HealthCheck(type, path, command, interval, timeout, healthy, unhealthy);
  }

  private static void requireBetween(String field, Duration value, Duration min, Duration max) {
    if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw new InvalidSpecException(field, value + " is outside " + min + ".." + max);
    }
  }

  /** Returns the kind of check. */
  public Type type() {
    return type;
  }

  /** Returns the HTTP path, or null for other kinds. */
  public String path() {
    return path;
  }

  /** Returns the command of an EXEC check, empty for other kinds. */
  public List<String> command() {
    return command;
  }

  /** Returns the time between two checks. */
  public Duration interval() {
    return interval;
  }

  /** Returns how long one check may take before it counts as a failure. */
  public Duration timeout() {
    return timeout;
  }

  /** Returns the consecutive passes that make an instance HEALTHY. */
  public int healthyThreshold() {
    return healthyThreshold;
  }

  /** Returns the consecutive failures that make an instance UNHEALTHY. */
  public int unhealthyThreshold() {
    return unhealthyThreshold;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof HealthCheck)) {
      return false;
    }
    HealthCheck h = (HealthCheck) o;
    return type == h.type
        && Objects.equals(path, h.path)
        && command.equals(h.command)
        && interval.equals(h.interval)
        && timeout.equals(h.timeout)
        && healthyThreshold == h.healthyThreshold
        && unhealthyThreshold == h.unhealthyThreshold;
  }

  @Override
  public int hashCode() {
    return Objects.hash(type, path, command, interval, timeout, healthyThreshold, unhealthyThreshold);
  }

  @Override
  public String toString() {
    String what = type == Type.HTTP ? "http " + path : type == Type.EXEC ? "exec " + String.join(" ", command) : "tcp";
    return what + " every " + interval.toMillis() + "ms";
  }
}
