package dev.hive.discovery.libp2p.kad;

import dev.hive.discovery.libp2p.wire.WireException;
import java.util.List;

/** Checks the records of one key namespace ({@code /pk/...}, {@code /hive/...}) and picks the best of several. */
public interface RecordValidator {
  /**
   * Checks a record before it is stored or returned.
   *
   * @throws WireException saying why the record is refused
   */
  void validate(byte[] key, byte[] value) throws WireException;

  /** Returns the index of the best of {@code values} (all valid). */
  default int select(byte[] key, List<byte[]> values) {
    return 0;
  }
}
