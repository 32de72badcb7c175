package dev.hive.discovery.libp2p;

import static org.assertj.core.api.Assertions.assertThat;

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
}
