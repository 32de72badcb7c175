package dev.hive.core.fuzz;

import java.util.HexFormat;

/**
 * The oracle of the decoder fuzz targets: a decoder fed outside bytes returns a value or throws its
 * documented refusal, with a message that says why. Anything else escaping it (a
 * NullPointerException, a NumberFormatException, an IllegalArgumentException from a JDK parser) is
 * a finding: the caller would answer 500, drop a connection it meant to refuse politely, or, for a
 * log entry, stop applying the log.
 */
public final class Refusal {
  private Refusal() {}

  /** A decoding step that may throw anything. */
  @FunctionalInterface
  public interface Decoding<T> {
    T run() throws Exception;
  }

  /**
   * Runs {@code decoding} over {@code input}.
   *
   * @return the decoded value, or null when it was refused with {@code refusal}
   * @throws AssertionError naming the input when anything else escapes, or a refusal says nothing
   */
  public static <T> T decodesOrRefuses(byte[] input, Class<? extends Exception> refusal, Decoding<T> decoding) {
    try {
      return decoding.run();
    } catch (Exception e) {
      if (!refusal.isInstance(e)) {
        throw new AssertionError("input " + shown(input) + " escaped the decoder as " + e, e);
      }
      // The end of the input is a refusal that needs no words: the peer stopped sending.
      if (!(e instanceof java.io.EOFException) && (e.getMessage() == null || e.getMessage().isBlank())) {
        throw new AssertionError("input " + shown(input) + " was refused without saying why: " + e, e);
      }
      return null;
    }
  }

  /** The input as text when it is printable, else as hex: what a reader of a finding needs. */
  public static String shown(byte[] input) {
    String text = new String(input, java.nio.charset.StandardCharsets.UTF_8);
    boolean printable = text.chars().allMatch(c -> c >= 0x20 && c < 0x7f || c == '\n' || c == '\t');
    String s = printable ? "'" + text + "'" : HexFormat.of().formatHex(input);
    return s.length() > 2000 ? s.substring(0, 2000) + "..." : s;
  }
}
