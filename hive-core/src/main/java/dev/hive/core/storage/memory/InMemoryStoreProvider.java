package dev.hive.core.storage.memory;

import dev.hive.spi.ProviderConfig;
import dev.hive.spi.Store;
import dev.hive.spi.StoreProvider;

/** Provides the {@code memory} store; chosen only by name, for simulations and tests. */
public final class InMemoryStoreProvider implements StoreProvider {
  @Override
  public String name() {
    return "memory";
  }

  @Override
  public int priority() {
    return 0;
  }

  @Override
  public boolean isApplicable() {
    return false;
  }

  @Override
  public String notApplicableReason() {
    return "it keeps nothing across restarts; choose it by name (store=memory) for tests";
  }

  @Override
  public Store create(ProviderConfig config) {
    return new InMemoryStore();
  }
}
