package dev.hive.discovery.libp2p;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.discovery.libp2p.wire.WireException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.HexFormat;

/**
 * The oracle of every decoder test: a decoder fed what a peer sends either decodes or refuses with
 * an {@link IOException} (a {@code WireException} saying what is wrong, or an end of stream) that
 * says why. Anything else escaping is a bug: a JDK exception where a refusal was meant.
 */
public final class DecoderOracle {
  private DecoderOracle() {}

  @FunctionalInterface
  public interface Decoding {
    void run() throws IOException;
  }

  /** Runs a decoder over {@code input}; an IOException is a refusal, anything else a bug. */
  public static void decodesOrRefuses(byte[] input, Decoding decoding) {
    try {
      decoding.run();
    } catch (IOException refused) {
      assertThat(refused.getMessage()).as("a refusal says why").isNotBlank();
    } catch (RuntimeException | Error bug) {
      throw new AssertionError("input " + HexFormat.of().formatHex(input) + " escaped the decoder as " + bug, bug);
    }
  }

  /** A decoding that gives a value or refuses with a {@link WireException}. */
  @FunctionalInterface
  public interface Decoder<T> {
    T decode() throws WireException;
  }

  /** The decoded value, or null when it was refused (the oracle has judged the refusal). */
  public static <T> T decodedOrNull(Decoder<T> decoder) {
    try {
      return decoder.decode();
    } catch (WireException refused) {
      return null;
    }
  }

  /** Handshake messages as Noise frames them: a two-byte length, then the message. */
  public static byte[] noiseFramed(byte[]... messages) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] m : messages) {
      out.write(m.length >>> 8);
      out.write(m.length);
      out.writeBytes(m);
    }
    return out.toByteArray();
  }
}
