package dev.hive.core.storage.sqlite;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.Store;
import dev.hive.spi.StoreProvider;

/** Provides the {@code sqlite} store: {@code <data-dir>/store/hive.db}, WAL mode. The default. */
public final class SqliteStoreProvider implements StoreProvider {
  @Override
  public String name() {
    return "sqlite";
  }

  @Override
  public int priority() {
    return 100;
  }

  @Override
  public boolean isApplicable() {
    return true;
  }

  @Override
  public Store create(ProviderConfig config) {
    return new SqliteStore(config.dataDir().resolve("hive.db"));
  }
}
