package dev.hive.spi;

import java.util.ArrayList;
import java.util.List;

/**
 * A declared port and the host port given to it for one workload.
 *
 * @param name the port's name
 * @param port the declared port (inside a container)
 * @param hostPort the port on the host
 */
public record PortBinding(String name, int port, int hostPort) {
  /**
   * Writes bindings as {@code name:port:hostPort,...}, short enough for a container label, so a
   * runtime can give them back for a container it did not start (after an agent restart).
   */
  public static String encode(List<PortBinding> bindings) {
    StringBuilder s = new StringBuilder();
    for (PortBinding p : bindings) {
      s.append(s.length() == 0 ? "" : ",").append(p.name()).append(':').append(p.port()).append(':').append(p.hostPort());
    }
    return s.toString();
  }

  /** Reads what {@link #encode(List)} wrote; parts that are not bindings are skipped. */
  public static List<PortBinding> decode(String text) {
    List<PortBinding> ports = new ArrayList<>();
    if (text == null || text.isEmpty()) {
      return ports;
    }
    for (String part : text.split(",")) {
      String[] f = part.split(":");
      if (f.length == 3) {
        try {
          ports.add(new PortBinding(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2])));
        } catch (NumberFormatException ignored) {
          // a label edited by hand: not a binding Hive made
        }
      }
    }
    return ports;
  }
}
