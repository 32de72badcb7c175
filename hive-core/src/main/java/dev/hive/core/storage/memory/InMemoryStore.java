package dev.hive.core.storage.memory;

import dev.hive.spi.KeyValues;
import dev.hive.spi.Store;
import dev.hive.spi.StoreEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The {@code memory} store, for simulations and unit tests: nothing survives a close. A
 * transaction works on a copy that replaces the live map only when the work returns.
 */
public final class InMemoryStore implements Store {
  private Map<String, TreeMap<String, StoreEntry>> data = new HashMap<>();
  private long revision;
  private Map<String, TreeMap<String, StoreEntry>> working;

  @Override
  public String name() {
    return "memory";
  }

  private Map<String, TreeMap<String, StoreEntry>> view() {
    return working != null ? working : data;
  }

  @Override
  public synchronized Optional<StoreEntry> get(String namespace, String key) {
    KeyValues.checkName("namespace", namespace);
    KeyValues.checkName("key", key);
    TreeMap<String, StoreEntry> ns = view().get(namespace);
    return ns == null ? Optional.empty() : Optional.ofNullable(ns.get(key));
  }

  @Override
  public synchronized List<StoreEntry> list(String namespace) {
    KeyValues.checkName("namespace", namespace);
    TreeMap<String, StoreEntry> ns = view().get(namespace);
    if (ns == null) {
      return List.of();
    }
    // Order by UTF-8 bytes, as SQLite does, not by UTF-16 code units.
    List<StoreEntry> entries = new ArrayList<>(ns.values());
    entries.sort((a, b) -> java.util.Arrays.compareUnsigned(bytes(a.key()), bytes(b.key())));
    return entries;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public synchronized long put(String namespace, String key, byte[] value) {
    KeyValues.checkName("namespace", namespace);
    KeyValues.checkName("key", key);
    KeyValues.checkValue(value);
    revision++;
    view().computeIfAbsent(namespace, n -> new TreeMap<>()).put(key, new StoreEntry(namespace, key, value, revision));
    return revision;
  }

  @Override
  public synchronized boolean delete(String namespace, String key) {
    KeyValues.checkName("namespace", namespace);
    KeyValues.checkName("key", key);
    TreeMap<String, StoreEntry> ns = view().get(namespace);
    boolean existed = ns != null && ns.remove(key) != null;
    if (existed) {
      revision++;
    }
    return existed;
  }

  @Override
  public synchronized <T> T inTransaction(Function<KeyValues, T> work) {
    if (working != null) {
      return work.apply(this);
    }
    long revisionBefore = revision;
    Map<String, TreeMap<String, StoreEntry>> copy = new HashMap<>();
    data.forEach((ns, entries) -> copy.put(ns, new TreeMap<>(entries)));
    working = copy;
    try {
      T result = work.apply(this);
      data = working;
      return result;
    } catch (RuntimeException | Error e) {
      revision = revisionBefore;
      throw e;
    } finally {
      working = null;
    }
  }

  @Override
  public synchronized long revision() {
    return revision;
  }

  @Override
  public boolean durable() {
    return false;
  }

  @Override
  public void close() {}
}
