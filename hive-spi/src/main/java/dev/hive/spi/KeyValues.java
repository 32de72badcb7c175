package dev.hive.spi;

import dev.hive.api.InvalidSpecException;
import java.util.List;
import java.util.Optional;

/**
 * Reads and writes of a namespaced key-value store. Namespaces and keys are 1-200 characters
 * without NUL; values are at most 16 MiB.
 */
public interface KeyValues {
  /**
   * Returns the entry, if present.
   *
   * @throws InvalidSpecException if the namespace or key is malformed
   */
  Optional<StoreEntry> get(String namespace, String key);

  /**
   * Returns every entry of the namespace in ascending key order (by UTF-8 bytes).
   *
   * @throws InvalidSpecException if the namespace is malformed
   */
  List<StoreEntry> list(String namespace);

  /**
   * Writes a value and returns the new store revision.
   *
   * @throws InvalidSpecException if the namespace or key is malformed or the value too large
   */
  long put(String namespace, String key, byte[] value);

  /**
   * Deletes a key; returns whether it existed.
   *
   * @throws InvalidSpecException if the namespace or key is malformed
   */
  boolean delete(String namespace, String key);

  /** Checks a namespace or key the way every store does. */
  static String checkName(String field, String name) {
    if (name == null || name.isEmpty() || name.length() > 200 || name.indexOf('\0') >= 0) {
      throw new InvalidSpecException(field, "'" + name + "' must be 1-200 characters without NUL");
    }
    return name;
  }

  /** Checks a value the way every store does. */
  static byte[] checkValue(byte[] value) {
    if (value == null) {
      throw new InvalidSpecException("value", "missing; write an empty array for an empty value");
    }
    if (value.length > 16 * 1024 * 1024) {
      throw new InvalidSpecException("value", value.length + " bytes is over the 16 MiB limit");
    }
    return value;
  }
}
