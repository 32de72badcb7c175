package dev.hive.core.state;

import dev.hive.api.InvalidSpecException;
import java.util.Locale;

/** Parses sizes the way users write them: {@code 256M}, {@code 1G}, {@code 512Mi}, {@code 1048576}. */
public final class Sizes {
  private Sizes() {}

  /**
   * Returns the number of bytes {@code text} stands for (K, M, G, T are powers of 1024).
   *
   * @throws InvalidSpecException naming {@code field} if it is not a size
   */
  public static long parseBytes(String field, String text) {
    if (text == null || text.isBlank()) {
      throw new InvalidSpecException(field, "empty; write a size such as 256M or 1G");
    }
    String t = text.trim().toUpperCase(Locale.ROOT);
    if (t.endsWith("IB")) {
      t = t.substring(0, t.length() - 2);
    } else if (t.endsWith("I") || (t.endsWith("B") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2)))) {
      t = t.substring(0, t.length() - 1);
    } else if (t.endsWith("B")) {
      t = t.substring(0, t.length() - 1);
    }
    long multiplier = 1;
    char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
    switch (last) {
      case 'K' -> multiplier = 1L << 10;
      case 'M' -> multiplier = 1L << 20;
      case 'G' -> multiplier = 1L << 30;
      case 'T' -> multiplier = 1L << 40;
      default -> multiplier = 1;
    }
    if (multiplier > 1) {
      t = t.substring(0, t.length() - 1);
    }
    try {
      double value = Double.parseDouble(t);
      if (value < 0 || Double.isNaN(value) || value * multiplier > Long.MAX_VALUE) {
        throw new NumberFormatException();
      }
      return (long) (value * multiplier);
    } catch (NumberFormatException e) {
      throw new InvalidSpecException(field, "'" + text + "' is not a size; write e.g. 256M, 1G or a number of bytes");
    }
  }

  /** Returns a byte count for people: {@code 1.5 GiB}, {@code 300 KiB}, {@code 12 B}. */
  public static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  }
}
