package dev.hive.core.security;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

/**
 * Finds which user owns the other end of a loopback TCP connection, from the kernel's socket table
 * ({@code /proc/net/tcp} and {@code tcp6}): the client's socket is the row whose local address is
 * the connection's remote one and whose remote address is the server's. Linux only; elsewhere no
 * peer is known and a token is needed.
 */
public final class PeerCredentials {
  private static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

  private PeerCredentials() {}

  /** The user id this process runs as, or empty where it cannot be read. */
  public static OptionalInt ownUid() {
    try {
      return OptionalInt.of((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return OptionalInt.empty();
    }
  }

  /**
   * Returns the uid of the process whose socket is {@code client} and is connected to
   * {@code server}, when both are on this host's loopback.
   */
  public static OptionalInt uidOf(InetSocketAddress client, InetSocketAddress server) {
    if (client == null || server == null || !client.getAddress().isLoopbackAddress()) {
      return OptionalInt.empty();
    }
    for (Path table : TABLES) {
      try {
        for (String line : Files.readAllLines(table)) {
          OptionalInt uid = match(line, client, server);
          if (uid.isPresent()) {
            return uid;
          }
        }
      } catch (IOException e) {
        // No such table (no IPv6, not Linux): look in the next.
      }
    }
    return OptionalInt.empty();
  }

  /** Returns the row's uid when its local end is {@code client} and its remote end {@code server}. */
  static OptionalInt match(String line, InetSocketAddress client, InetSocketAddress server) {
    String[] f = line.trim().split("\\s+");
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
    if (f.length < 8 || !f[0].endsWith(":")) {
      return OptionalInt.empty();
    }
    try {
      if (endpoint(f[1]).equals(client) && endpoint(f[2]).equals(server)) {
        return OptionalInt.of(Integer.parseInt(f[7]));
      }
    } catch (IllegalArgumentException | UnknownHostException e) {
      // A row this parser does not know: not the one sought.
    }
    return OptionalInt.empty();
  }

  /**
   * Decodes {@code ADDR:PORT} as the kernel prints it: the address as 32-bit words in host (little
   * endian) order, the port in big-endian hex. An IPv4-mapped IPv6 address decodes to its IPv4 one.
   */
  static InetSocketAddress endpoint(String field) throws UnknownHostException {
    int colon = field.indexOf(':');
    String hex = field.substring(0, colon);
    int port = Integer.parseInt(field.substring(colon + 1), 16);
    if (hex.length() != 8 && hex.length() != 32) {
      throw new IllegalArgumentException("not an address: " + field);
    }
    byte[] bytes = new byte[hex.length() / 2];
    for (int word = 0; word < bytes.length / 4; word++) {
      for (int b = 0; b < 4; b++) {
        int at = (word * 4 + b) * 2;
        bytes[word * 4 + (3 - b)] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
      }
    }
    return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
  }
}
