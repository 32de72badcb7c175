package dev.hive.core.storage.sqlite;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.spi.KeyValues;
import dev.hive.spi.Store;
import dev.hive.spi.StoreEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The {@code sqlite} store: one SQLite file in WAL mode, one table of (namespace, key) rows, each
 * stamped with the store revision that wrote it. One connection serialized by this object's lock:
 * Hive's write rate is that of its control plane, and one writer is what SQLite allows anyway.
 */
final class SqliteStore implements Store {
  private final Path file;
  private final Connection connection;
  private long revision;
  private boolean inTransaction;

  SqliteStore(Path file) {
    this.file = file;
    try {
      // App env values are in it. SQLite gives its -wal and -shm files the database file's mode.
      dev.hive.core.security.SecretFiles.createPrivateFile(file);
      connection = DriverManager.getConnection("jdbc:sqlite:" + file);
      try (Statement s = connection.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=NORMAL");
        s.execute("PRAGMA busy_timeout=5000");
        s.execute(
            "CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, k TEXT NOT NULL, v BLOB NOT NULL, rev INTEGER NOT NULL,"
                + " PRIMARY KEY (ns, k)) WITHOUT ROWID");
        s.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
        s.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0)");
        try (ResultSet rs = s.executeQuery("SELECT value FROM meta WHERE name = 'revision'")) {
          rs.next();
          revision = rs.getLong(1);
        }
      }
    } catch (SQLException | java.io.IOException e) {
      throw new UnavailableException("cannot open the SQLite store at " + file + ": " + e.getMessage()
          + "; check that the data dir is writable and not used by another Hive process", e);
    }
  }

  @Override
  public String name() {
    return "sqlite";
  }

  @Override
  public synchronized Optional<StoreEntry> get(String namespace, String key) {
    KeyValues.checkName("namespace", namespace);
    KeyValues.checkName("key", key);
    try (PreparedStatement ps = connection.prepareStatement("SELECT v, rev FROM kv WHERE ns = ? AND k = ?")) {
      ps.setString(1, namespace);
      ps.setString(2, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new StoreEntry(namespace, key, rs.getBytes(1), rs.getLong(2))) : Optional.empty();
      }
    } catch (SQLException e) {
      throw failure("read " + namespace + "/" + key, e);
    }
  }

  @Override
  public synchronized List<StoreEntry> list(String namespace) {
    KeyValues.checkName("namespace", namespace);
    // SQLite compares TEXT with memcmp under the default BINARY collation: UTF-8 byte order.
    try (PreparedStatement ps = connection.prepareStatement("SELECT k, v, rev FROM kv WHERE ns = ? ORDER BY k")) {
      ps.setString(1, namespace);
      List<StoreEntry> entries = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          entries.add(new StoreEntry(namespace, rs.getString(1), rs.getBytes(2), rs.getLong(3)));
        }
      }
      return entries;
    } catch (SQLException e) {
      throw failure("list " + namespace, e);
    }
  }

  @Override
  public synchronized long put(String namespace, String key, byte[] value) {
    KeyValues.checkName("namespace", namespace);
    KeyValues.checkName("key", key);
    KeyValues.checkValue(value);
    return inTransaction(tx -> putInOpenTransaction(namespace, key, value));
  }

  @Override
  public synchronized boolean delete(String namespace, String key) {
    KeyValues.checkName("namespace", namespace);
    KeyValues.checkName("key", key);
    return inTransaction(tx -> deleteInOpenTransaction(namespace, key));
  }

  @Override
  public synchronized <T> T inTransaction(Function<KeyValues, T> work) {
    if (inTransaction) {
      return work.apply(transactionView());
    }
    long revisionBefore = revision;
    try {
      connection.setAutoCommit(false);
      inTransaction = true;
      T result = work.apply(transactionView());
      try (PreparedStatement ps = connection.prepareStatement("UPDATE meta SET value = ? WHERE name = 'revision'")) {
        ps.setLong(1, revision);
        ps.executeUpdate();
      }
      connection.commit();
      return result;
    } catch (SQLException e) {
      rollback(revisionBefore);
      throw failure("commit a transaction", e);
    } catch (RuntimeException | Error e) {
      rollback(revisionBefore);
      throw e;
    } finally {
      inTransaction = false;
      try {
        connection.setAutoCommit(true);
      } catch (SQLException e) {
        throw failure("end a transaction", e);
      }
    }
  }

  private void rollback(long revisionBefore) {
    revision = revisionBefore;
    try {
      connection.rollback();
    } catch (SQLException e) {
      throw failure("roll back a transaction", e);
    }
  }

  private KeyValues transactionView() {
    return new KeyValues() {
      @Override
      public Optional<StoreEntry> get(String namespace, String key) {
        return SqliteStore.this.get(namespace, key);
      }

      @Override
      public List<StoreEntry> list(String namespace) {
        return SqliteStore.this.list(namespace);
      }

      @Override
      public long put(String namespace, String key, byte[] value) {
        KeyValues.checkName("namespace", namespace);
        KeyValues.checkName("key", key);
        KeyValues.checkValue(value);
        return putInOpenTransaction(namespace, key, value);
      }

      @Override
      public boolean delete(String namespace, String key) {
        KeyValues.checkName("namespace", namespace);
        KeyValues.checkName("key", key);
        return deleteInOpenTransaction(namespace, key);
      }
    };
  }

  private long putInOpenTransaction(String namespace, String key, byte[] value) {
    long next = revision + 1;
    try (PreparedStatement ps = connection.prepareStatement("INSERT OR REPLACE INTO kv (ns, k, v, rev) VALUES (?, ?, ?, ?)")) {
      ps.setString(1, namespace);
      ps.setString(2, key);
      ps.setBytes(3, value);
      ps.setLong(4, next);
      ps.executeUpdate();
    } catch (SQLException e) {
      throw failure("write " + namespace + "/" + key, e);
    }
    revision = next;
    return next;
  }

  private boolean deleteInOpenTransaction(String namespace, String key) {
    try (PreparedStatement ps = connection.prepareStatement("DELETE FROM kv WHERE ns = ? AND k = ?")) {
      ps.setString(1, namespace);
      ps.setString(2, key);
      boolean existed = ps.executeUpdate() > 0;
      if (existed) {
        revision++;
      }
      return existed;
    } catch (SQLException e) {
      throw failure("delete " + namespace + "/" + key, e);
    }
  }

  @Override
  public synchronized long revision() {
    return revision;
  }

  @Override
  public boolean durable() {
    return true;
  }

  @Override
  public synchronized void close() {
    try {
      if (!connection.isClosed()) {
        connection.close();
      }
    } catch (SQLException e) {
      throw failure("close", e);
    }
  }

  private HiveException failure(String what, SQLException e) {
    return new HiveException("SQLite store " + file + ": cannot " + what + ": " + e.getMessage(), e);
  }
}
