package dev.hive.core.consensus;

import dev.hive.api.HiveException;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.Refusals;
import dev.hive.core.state.Request;
import dev.hive.core.state.RequestLedger;
import dev.hive.core.state.StateCodec;
import dev.hive.core.state.StateMachine;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;

/**
 * The cluster state as a Ratis state machine: every log entry is a {@link Request}, decided by
 * the same {@link RequestLedger} and pure {@link StateMachine} as on a single node. The leader
 * stamps each request with its clock as it appends it. A request refused in the log (its
 * deadline passed, or the state refuses its command) still occupies its index (Raft has already
 * ordered it), changes nothing and answers with the refusal. Snapshots are the state's and the ledger's JSON in Ratis' snapshot directory.
 */
final class HiveStateMachine extends BaseStateMachine {
  /** The reply to an applied request is {@code <log index>|OK}; to a refused one, {@code <log index>|ERR|...}. */
  static final String OK = "OK";

  private final StateCodec codec = new StateCodec();
  private final Clock clock;
  /** Guarded by this. */
  private final RequestLedger ledger = new RequestLedger();
  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final List<Consumer<ClusterState>> listeners = new CopyOnWriteArrayList<>();
  /** Guarded by this: told of every entry under the same lock that orders them. */
  private final List<CommittedChanges> changeListeners = new ArrayList<>();
  private volatile ClusterState state = ClusterState.EMPTY;

  /** Called when the group tells this server to shut down (see {@link RaftCommandLog#rejoin}). */
  private volatile Runnable onShutdownByGroup = () -> {};

  HiveStateMachine(Clock clock) {
    this.clock = clock;
  }

  void onShutdownByGroup(Runnable action) {
    this.onShutdownByGroup = action;
  }

  /** Gives {@code next} this state machine's listeners: it replaces this one after a rejoin. */
  void handListenersTo(HiveStateMachine next) {
    next.listeners.addAll(listeners);
    List<CommittedChanges> changes;
    synchronized (this) {
      changes = List.copyOf(changeListeners);
    }
    changes.forEach(next::follow);
  }

  /** Tells {@code listener} the state and index now, then every entry applied after it, in order. */
  synchronized void follow(CommittedChanges listener) {
    listener.reset(appliedIndex(), state);
    changeListeners.add(listener);
  }

  private long appliedIndex() {
    TermIndex last = getLastAppliedTermIndex();
    return last == null ? 0 : Math.max(0, last.getIndex());
  }

  /**
   * Ratis closes the server of a candidate that the leader says was removed from the group (a
   * voter demoted or dropped while it was cut off or down, whose own log still says voter): it
   * would never follow the log again. Its owner rejoins instead.
   */
  @Override
  public void notifyServerShutdown(RoleInfoProto roleInfo, boolean allServer) {
    if (!allServer) {
      onShutdownByGroup.run();
    }
  }

  @Override
  public void notifyServerShutdown(RoleInfoProto roleInfo) {
    onShutdownByGroup.run();
  }

  ClusterState state() {
    return state;
  }

  /** Returns the recorded outcome of a request, as this node has applied the log so far. */
  synchronized Optional<RequestLedger.Outcome> outcome(String requestId) {
    return ledger.outcome(requestId);
  }

  void onApplied(Consumer<ClusterState> listener) {
    listeners.add(listener);
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    // NEW -> STARTING -> RUNNING: pause() below needs RUNNING to go to PAUSED from.
    getLifeCycle().startAndTransition(() -> {
      super.initialize(server, groupId, raftStorage);
      storage.init(raftStorage);
      loadSnapshot(storage.getLatestSnapshot());
    });
  }

  /**
   * Ratis calls this on a follower right before it moves a snapshot sent by the leader into the
   * snapshot directory; then its StateMachineUpdater calls {@link #reinitialize}, which it refuses
   * (IllegalStateException, and the group closes) unless this state machine is PAUSED.
   * BaseStateMachine's pause() does nothing: a joiner sent a snapshot (any joiner, once the
   * leader has one: after a restart, or past 1,024 commands) closed its group and never came up.
   */
  @Override
  public synchronized void pause() {
    LifeCycle lifeCycle = getLifeCycle();
    if (lifeCycle.compareAndTransition(LifeCycle.State.RUNNING, LifeCycle.State.PAUSING)) {
      lifeCycle.transition(LifeCycle.State.PAUSED);
    }
  }

  /** Loads the snapshot just installed (the newest in the snapshot directory) and runs again. */
  @Override
  public void reinitialize() throws IOException {
    ClusterState after;
    synchronized (this) {
      // Read the directory again: the storage caches the snapshot it knew before the install.
      SingleFileSnapshotInfo installed = storage.loadLatestSnapshot();
      if (installed == null) {
        throw new IOException("no snapshot in the state machine directory to reload the state from after installing one");
      }
      loadSnapshot(installed);
      for (CommittedChanges listener : changeListeners) {
        listener.reset(appliedIndex(), state);
      }
      if (getLifeCycle().getCurrentState() == LifeCycle.State.PAUSED) {
        getLifeCycle().transition(LifeCycle.State.STARTING);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
      }
      after = state;
    }
    // The state changed as much as by the commands the snapshot stands for.
    for (Consumer<ClusterState> listener : listeners) {
      listener.accept(after);
    }
  }

  @Override
  public SimpleStateMachineStorage getStateMachineStorage() {
    return storage;
  }

  private synchronized void loadSnapshot(SingleFileSnapshotInfo snapshot) throws IOException {
    if (snapshot == null) {
      return;
    }
    File file = snapshot.getFile().getPath().toFile();
    byte[] bytes = Files.readAllBytes(file.toPath());
    state = codec.decodeState(bytes);
    ledger.reset(codec.decodeOutcomes(bytes));
    setLastAppliedTermIndex(snapshot.getTermIndex());
  }

  @Override
  public synchronized long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || last.getIndex() < 0) {
      return -1;
    }
    File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    File tmp = new File(file.getPath() + ".tmp");
    try (FileChannel out = FileChannel.open(tmp.toPath(), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer bytes = ByteBuffer.wrap(codec.encode(state, ledger.outcomes()));
      while (bytes.hasRemaining()) {
        out.write(bytes);
      }
      // Ratis purges the log up to the snapshot once this returns: the snapshot must be on disk.
      out.force(true);
    }
    Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    // With its .md5 file, as Ratis writes an installed snapshot: SimpleStateMachineStorage picks
    // the newest snapshot that has one (a newer one without would lose to an older installed one,
    // and a node that joined by snapshot restarted from it) and only counts those when it deletes old ones.
    MD5Hash digest = MD5FileUtil.computeAndSaveMd5ForFile(file);
    storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), digest), last));
    return last.getIndex();
  }

  /**
   * The leader stamps a request with its clock as it appends it; the ledger refuses it when that
   * is past its deadline. Nothing is refused here, before the log: a leader's applied state can
   * trail its log (a new leader has yet to apply the entries of the term before), and the Ratis
   * client resends a request whose answer it lost, so a copy refused here could sit in the log
   * and apply, while its caller was told "refused" (the consistency checker caught it). Only the
   * log's order decides.
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    long now = clock.millis();
    List<Request> stamped = codec.decodeRequests(request.getMessage().getContent().toByteArray()).stream().map(r -> r.stamped(now)).toList();
    return TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request)
        .setLogData(ByteString.copyFrom(codec.encodeRequests(stamped))).build();
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    byte[] data = entry.getStateMachineLogEntry().getLogData().toByteArray();
    String reply;
    ClusterState before;
    ClusterState after;
    synchronized (this) {
      before = state;
      List<String> outcomes = new ArrayList<>();
      List<Command> applied = new ArrayList<>();
      try {
        List<Request> requests = codec.decodeRequests(data);
        for (Request request : requests) {
          outcomes.add(entry.getIndex() + "|" + apply(request, entry.getIndex(), applied));
        }
        reply = requests.size() == 1 ? outcomes.get(0) : encodeReplies(outcomes);
      } catch (HiveException e) {
        // Not requests this version can read: nothing of the entry applies.
        reply = entry.getIndex() + "|" + Refusals.encode(e);
      }
      updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
      after = state;
      for (CommittedChanges listener : changeListeners) {
        listener.committed(entry.getIndex(), applied, after);
      }
    }
    if (after != before) {
      for (Consumer<ClusterState> listener : listeners) {
        listener.accept(after);
      }
    }
    return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(reply, StandardCharsets.UTF_8)));
  }

  /** Applies one request of an entry, adding its command to {@code applied} if it changed the state; returns {@link #OK} or its refusal. */
  private String apply(Request request, long index, List<Command> applied) {
    try {
      RequestLedger.Result result = ledger.apply(state, request, index);
      if (result.state() != state) {
        applied.add(request.command());
      }
      state = result.state();
      return result.outcome() == null || result.outcome().applied() ? OK : result.outcome().refusal();
    } catch (HiveException e) {
      return Refusals.encode(e);
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper BATCH_REPLY = new com.fasterxml.jackson.databind.ObjectMapper();

  /** The reply to a batch: a JSON array of each request's reply, in the batch's order. */
  private static String encodeReplies(List<String> replies) {
    return BATCH_REPLY.createArrayNode().addAll(replies.stream().map(r -> BATCH_REPLY.getNodeFactory().textNode(r)).toList()).toString();
  }

  /**
   * Each request's reply, from the reply to an entry of {@code requests} requests: one reply
   * answers them all when the entry could not be read at all.
   */
  static List<String> replies(String reply, int requests) {
    if (requests == 1 || !reply.startsWith("[")) {
      return java.util.Collections.nCopies(requests, reply);
    }
    List<String> replies = new ArrayList<>();
    try {
      BATCH_REPLY.readTree(reply).forEach(n -> replies.add(n.asText()));
    } catch (IOException e) {
      throw new IllegalStateException("the reply to a batch is not JSON: " + reply, e);
    }
    if (replies.size() != requests) {
      throw new IllegalStateException("the reply to a batch of " + requests + " answers " + replies.size());
    }
    return replies;
  }

  /** Writers waiting for an index to be applied here, lowest index first; guarded by itself. */
  private final java.util.PriorityQueue<AppliedWaiter> appliedWaiters = new java.util.PriorityQueue<>(
      java.util.Comparator.comparingLong(AppliedWaiter::index));

  private record AppliedWaiter(long index, CompletableFuture<Void> applied) {}

  /**
   * Completes once this state machine has applied {@code index} (at once if it has). A writer
   * waits on this instead of polling: 64 writers polling every millisecond took a core of two.
   */
  CompletableFuture<Void> whenApplied(long index) {
    CompletableFuture<Void> applied = new CompletableFuture<>();
    synchronized (appliedWaiters) {
      if (getLastAppliedTermIndex().getIndex() >= index) {
        applied.complete(null);
      } else {
        appliedWaiters.add(new AppliedWaiter(index, applied));
      }
    }
    return applied;
  }

  /**
   * Ratis' word that an entry with no state machine data (a configuration change, a new
   * leader's first entry) is applied: followers hear of it too, so that a client's copy reaches
   * the index a leader gives for a read even when the log ends in such an entry.
   */
  @Override
  public synchronized void notifyTermIndexUpdated(long term, long index) {
    super.notifyTermIndexUpdated(term, index);
    for (CommittedChanges listener : changeListeners) {
      listener.committed(index, List.of(), state);
    }
  }

  @Override
  protected boolean updateLastAppliedTermIndex(TermIndex newTermIndex) {
    boolean updated = super.updateLastAppliedTermIndex(newTermIndex);
    releaseWaiters(newTermIndex.getIndex());
    return updated;
  }

  @Override
  protected void setLastAppliedTermIndex(TermIndex newTermIndex) {
    super.setLastAppliedTermIndex(newTermIndex);
    releaseWaiters(newTermIndex.getIndex());
  }

  private void releaseWaiters(long applied) {
    if (appliedWaiters == null) {
      return; // BaseStateMachine's constructor sets the index before this class's fields exist.
    }
    List<CompletableFuture<Void>> released = new ArrayList<>();
    synchronized (appliedWaiters) {
      while (!appliedWaiters.isEmpty() && appliedWaiters.peek().index() <= applied) {
        released.add(appliedWaiters.poll().applied());
      }
    }
    released.forEach(f -> f.complete(null));
  }

  /**
   * Answers a read with this node's last applied index. Ratis calls it on the leader only once
   * the leader has confirmed its leadership and applied up to its commit index (the read index):
   * a node that then applies up to the answer has every write committed before the read began.
   */
  @Override
  public CompletableFuture<Message> query(Message request) {
    return CompletableFuture.completedFuture(Message.valueOf(Long.toString(getLastAppliedTermIndex().getIndex())));
  }
}
