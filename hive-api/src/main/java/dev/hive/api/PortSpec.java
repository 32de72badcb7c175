package dev.hive.api;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A port an app declares. Each instance gets its own host port for it -- a free one, or the fixed
 * {@link #hostPort()} when one is given, in which case no two instances of any app that asks for
 * that host port share a node. A process receives its host port as {@code PORT} (the first
 * declared port) and {@code PORT_<NAME>}.
 */
public final class PortSpec {
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?");

  private final String name;
  private final int port;
  private final int hostPort;

  private PortSpec(String name, int port, int hostPort) {
    this.name = name;
    this.port = port;
    this.hostPort = hostPort;
  }

  /**
   * A port named by its number, e.g. {@code 8080} gives {@code PORT_8080}.
   *
   * @throws InvalidSpecException if {@code port} is not in 1..65535
   */
  public static PortSpec of(int port) {
    return of(Integer.toString(port), port);
  }

  /**
   * A named port, e.g. {@code ("http", 8080)} gives {@code PORT_HTTP}.
   *
   * @throws InvalidSpecException if the name is not 1-32 lowercase letters, digits, '-' or '_', or
   *     the port is not in 1..65535
   */
  public static PortSpec of(String name, int port) {
    if (port < 1 || port > 65535) {
      throw new InvalidSpecException("port", port + " is out of range; a port is 1..65535");
    }
    if (name == null || !NAME.matcher(name).matches()) {
      throw new InvalidSpecException("port", "name '" + name + "' must be 1-32 lowercase letters, digits, '-' or '_'");
    }
    return new PortSpec(name, port, 0);
  }

  /**
   * Returns this port bound to a fixed host port on every node that runs an instance.
   *
   * @throws InvalidSpecException if {@code hostPort} is not in 1..65535
   */
  public PortSpec withHostPort(int hostPort) {
    if (hostPort < 1 || hostPort > 65535) {
      throw new InvalidSpecException("port", "host port " + hostPort + " is out of range; a port is 1..65535");
    }
    return new PortSpec(name, port, hostPort);
  }

  /**
   * Parses {@code 8080} or {@code name:8080}, each optionally followed by {@code @hostPort} for a
   * fixed host port ({@code http:8080@80}).
   *
   * @throws InvalidSpecException if the text is none of them
   */
  public static PortSpec parse(String text) {
    if (text == null || text.isBlank()) {
      throw new InvalidSpecException("port", "empty; use a number such as 8080 or name:8080");
    }
    int at = text.indexOf('@');
    if (at >= 0) {
      int host;
      try {
        host = Integer.parseInt(text.substring(at + 1).trim());
      } catch (NumberFormatException e) {
        throw new InvalidSpecException("port", "'" + text + "' has no host port after '@'; use e.g. http:8080@80");
      }
      return parse(text.substring(0, at)).withHostPort(host);
    }
    int colon = text.indexOf(':');
    String number = colon < 0 ? text.trim() : text.substring(colon + 1).trim();
    int port;
    try {
      port = Integer.parseInt(number);
    } catch (NumberFormatException e) {
      throw new InvalidSpecException("port", "'" + text + "' is not a port; use a number such as 8080 or name:8080");
    }
    return colon < 0 ? of(port) : of(text.substring(0, colon).trim(), port);
  }

  /** Returns the port's name, unique within the app. */
  public String name() {
    return name;
  }

  /** Returns the declared port (the port inside a container; a label for a process). */
  public int port() {
    return port;
  }

  /** Returns the fixed host port, or 0 when each instance gets a free one. */
  public int hostPort() {
    return hostPort;
  }

  /** Returns the environment variable that carries this port's host port: {@code PORT_<NAME>}. */
  public String envName() {
    return "PORT_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PortSpec && ((PortSpec) o).name.equals(name) && ((PortSpec) o).port == port && ((PortSpec) o).hostPort == hostPort;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, port, hostPort);
  }

  @Override
  public String toString() {
    return (name.equals(Integer.toString(port)) ? name : name + ":" + port) + (hostPort > 0 ? "@" + hostPort : "");
  }
}
