package dev.hive.core.consensus;

import dev.hive.api.CommandStatus;
import dev.hive.api.HiveException;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.Request;
import dev.hive.core.state.RequestLedger;
import dev.hive.core.state.StateCodec;
import dev.hive.spi.Store;
import dev.hive.spi.StoreEntry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The single-node command log: requests are appended to the store's {@code log} namespace under
 * a sequence number and applied; every {@code snapshotEvery} entries the state and the request
 * ledger are written to {@code snapshot} and the entries they cover are dropped, in the same
 * transaction. On open, the snapshot is read and the log replayed. This node is the log's head:
 * a request is stamped with its clock, and with no one to wait for, its deadline never passes.
 */
public final class LocalCommandLog implements CommandLog {
  static final String LOG = "log";
  static final String SNAPSHOT = "snapshot";
  /** A local write is decided at once; the deadline only bounds how long its outcome is kept. */
  static final Duration DEADLINE = Duration.ofSeconds(10);
  /**
   * Entries between two snapshots on a node's store. A snapshot holds every request outcome kept
   * (up to 50,000, several megabytes once full): taken every 64 entries, writing it was most of
   * a busy single node's work. Replaying up to this many entries at open takes well under a second.
   */
  public static final int SNAPSHOT_EVERY = 1024;

  private final Store store;
  private final Clock clock;
  private final StateCodec codec = new StateCodec();
  private final int snapshotEvery;
  private final List<Consumer<ClusterState>> listeners = new CopyOnWriteArrayList<>();
  private final RequestLedger ledger = new RequestLedger();
  private final PendingRequests pending;
  private ClusterState state;
  /** The number of the last entry written; before requests had ids it was the state's index. */
  private long sequence;

  /** Opens the log on {@code store}, recovering the state it holds. */
  public LocalCommandLog(Store store, int snapshotEvery) {
    this(store, snapshotEvery, Clock.systemUTC());
  }

  /** Opens the log on {@code store} with {@code clock} for stamps and deadlines. */
  public LocalCommandLog(Store store, int snapshotEvery, Clock clock) {
    this.store = store;
    this.clock = clock;
    this.snapshotEvery = snapshotEvery;
    this.pending = new PendingRequests(clock);
    ClusterState recovered = ClusterState.EMPTY;
    long last = 0;
    byte[] snapshot = store.get(SNAPSHOT, "state").map(StoreEntry::value).orElse(null);
    if (snapshot != null) {
      recovered = codec.decodeState(snapshot);
      ledger.reset(codec.decodeOutcomes(snapshot));
      last = store.get(SNAPSHOT, "sequence").map(e -> Long.parseLong(new String(e.value(), StandardCharsets.UTF_8))).orElse(recovered.index());
    }
    for (StoreEntry entry : store.list(LOG)) {
      long index = Long.parseLong(entry.key());
      if (index <= last) {
        continue;
      }
      recovered = ledger.apply(recovered, codec.decodeRequest(entry.value()), index).state();
      last = index;
    }
    this.state = recovered;
    this.sequence = last;
  }

  private static String key(long index) {
    return String.format("%020d", index);
  }

  @Override
  public synchronized ClusterState state() {
    return state;
  }

  @Override
  public ClusterState submit(Command command, String requestId) {
    String id = requestId == null ? UUID.randomUUID().toString() : requestId;
    long now = clock.millis();
    Request request = new Request(id, now + DEADLINE.toMillis(), now, codec.digest(command), command);
    RequestLedger.Result result;
    synchronized (this) {
      pending.add(id, request.deadlineMillis());
      if (ledger.outcome(id).isEmpty()) {
        // As a leader does: a command the state refuses throws here and is not written.
        dev.hive.core.state.StateMachine.apply(state, command);
      }
      // A reused id with another command throws here, before anything is written.
      result = ledger.apply(state, request, sequence + 1);
      if (result.repeated()) {
        return answer(result);
      }
      long index = ++sequence;
      byte[] entry = codec.encode(request);
      ClusterState next = result.state();
      store.inTransaction(
          tx -> {
            tx.put(LOG, key(index), entry);
            if (index % snapshotEvery == 0) {
              tx.put(SNAPSHOT, "state", codec.encode(next, ledger.outcomes()));
              tx.put(SNAPSHOT, "sequence", Long.toString(index).getBytes(StandardCharsets.UTF_8));
              for (StoreEntry old : tx.list(LOG)) {
                if (Long.parseLong(old.key()) <= index) {
                  tx.delete(LOG, old.key());
                }
              }
            }
            return null;
          });
      state = next;
    }
    if (result.outcome().applied()) {
      for (Consumer<ClusterState> listener : listeners) {
        listener.accept(result.state());
      }
    }
    return answer(result);
  }

  private ClusterState answer(RequestLedger.Result result) {
    HiveException refusal = result.outcome().refusalException();
    if (refusal != null) {
      throw refusal;
    }
    return state();
  }

  @Override
  public CommandStatus status(String requestId) {
    return pending.status(requestId, id -> {
      synchronized (this) {
        return ledger.outcome(id);
      }
    }, (id, deadline) -> {
      // Nothing reaches this log late: a request not decided by now was never submitted here.
      throw new IllegalStateException("request " + id + " was submitted here but never decided");
    });
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
