package dev.hive.core.storage;

import dev.hive.core.storage.sqlite.SqliteStoreProvider;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.Store;
import dev.hive.spi.kit.StoreCompatibilityKit;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

class SqliteStoreCompatibilityTest extends StoreCompatibilityKit {
  @Override
  protected Store openStore(Path dataDir) {
    return new SqliteStoreProvider().create(new ProviderConfig(dataDir, "hive", "n1", Clock.systemUTC(), Map.of()));
  }
}
