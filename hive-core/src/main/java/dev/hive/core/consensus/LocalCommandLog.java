package dev.hive.core.consensus;

import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.StateCodec;
import dev.hive.core.state.StateMachine;
import dev.hive.spi.Store;
import dev.hive.spi.StoreEntry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The single-node command log: commands are appended to the store's {@code log} namespace and
 * applied; every {@code snapshotEvery} commands the state is written to {@code snapshot} and the
 * log entries it covers are dropped, in the same transaction. On open, the snapshot is read and
 * the log replayed.
 */
public final class LocalCommandLog implements CommandLog {
  static final String LOG = "log";
  static final String SNAPSHOT = "snapshot";

  private final Store store;
  private final StateCodec codec = new StateCodec();
  private final int snapshotEvery;
  private final List<Consumer<ClusterState>> listeners = new CopyOnWriteArrayList<>();
  private ClusterState state;

  /** Opens the log on {@code store}, recovering the state it holds. */
  public LocalCommandLog(Store store, int snapshotEvery) {
    this.store = store;
    this.snapshotEvery = snapshotEvery;
    ClusterState recovered = store.get(SNAPSHOT, "state").map(e -> codec.decodeState(e.value())).orElse(ClusterState.EMPTY);
    for (StoreEntry entry : store.list(LOG)) {
      long index = Long.parseLong(entry.key());
      if (index <= recovered.index()) {
        continue;
      }
      recovered = StateMachine.apply(recovered, codec.decodeCommand(entry.value()));
    }
    this.state = recovered;
  }

  private static String key(long index) {
    return String.format("%020d", index);
  }

  @Override
  public synchronized ClusterState state() {
    return state;
  }

  @Override
  public ClusterState submit(Command command) {
    ClusterState next;
    synchronized (this) {
      // Apply first: a refused command throws here, before anything is written.
      next = StateMachine.apply(state, command);
      byte[] entry = codec.encode(command);
      ClusterState applied = next;
      store.inTransaction(
          tx -> {
            tx.put(LOG, key(applied.index()), entry);
            if (applied.index() % snapshotEvery == 0) {
              tx.put(SNAPSHOT, "state", codec.encode(applied));
              for (StoreEntry old : tx.list(LOG)) {
                if (Long.parseLong(old.key()) <= applied.index()) {
                  tx.delete(LOG, old.key());
                }
              }
            }
            return null;
          });
      state = next;
    }
    for (Consumer<ClusterState> listener : listeners) {
      listener.accept(next);
    }
    return next;
  }

  @Override
  public void onApplied(Consumer<ClusterState> listener) {
    listeners.add(listener);
  }

  @Override
  public void close() {
    listeners.clear();
  }
}
