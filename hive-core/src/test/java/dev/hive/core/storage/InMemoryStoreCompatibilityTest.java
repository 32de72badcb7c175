package dev.hive.core.storage;

import dev.hive.core.storage.memory.InMemoryStore;
import dev.hive.spi.Store;
import dev.hive.spi.kit.StoreCompatibilityKit;
import java.nio.file.Path;

class InMemoryStoreCompatibilityTest extends StoreCompatibilityKit {
  @Override
  protected Store openStore(Path dataDir) {
    return new InMemoryStore();
  }
}
