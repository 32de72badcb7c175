package dev.hive.spi;

import java.util.Objects;

/** One key of a store namespace with its value and the revision that last wrote it. Immutable. */
public final class StoreEntry {
  private final String namespace;
  private final String key;
  private final byte[] value;
  private final long revision;

  /**
   * @param namespace the namespace
   * @param key the key
   * @param value the value (copied)
   * @param revision the store revision that last wrote it
   */
  public StoreEntry(String namespace, String key, byte[] value, long revision) {
    this.namespace = Objects.requireNonNull(namespace, "namespace");
    this.key = Objects.requireNonNull(key, "key");
    this.value = value.clone();
    this.revision = revision;
  }

  /** Returns the namespace. */
  public String namespace() {
    return namespace;
  }

  /** Returns the key. */
  public String key() {
    return key;
  }

  /** Returns a copy of the value. */
  public byte[] value() {
    return value.clone();
  }

  /** Returns the value decoded as UTF-8. */
  public String valueAsString() {
    return new String(value, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Returns the store revision that last wrote this key. */
  public long revision() {
    return revision;
  }
}
