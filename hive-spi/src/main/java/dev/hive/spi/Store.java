package dev.hive.spi;

import java.util.function.Function;

/**
 * Hive's persistence: a transactional key-value store with namespaces and a revision that grows
 * with every write. Holds the state machine's log and snapshots and node-local records. Every
 * implementation passes {@code StoreCompatibilityKit} from hive-spi's test-jar.
 */
public interface Store extends KeyValues, AutoCloseable {
  /** Returns the store's name. */
  String name();

  /**
   * Runs {@code work} atomically: every write in it lands, or, when it throws, none does and the
   * exception propagates.
   */
  <T> T inTransaction(Function<KeyValues, T> work);

  /** Returns the revision of the last write, 0 for an empty store. */
  long revision();

  /** Returns true when what was written survives a close and reopen on the same data dir. */
  boolean durable();

  /** Flushes and releases the store. */
  @Override
  void close();
}
