package dev.hive.core.consensus;

import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.StateCodec;
import dev.hive.core.state.StateMachine;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * The cluster state as a Ratis state machine: every log entry is a {@link Command}, applied by
 * the same pure {@link StateMachine} as on a single node. A command the state refuses still
 * occupies its log index (Raft has already ordered it) but changes nothing and answers with the
 * refusal; the leader checks commands against its state before appending, so that is rare.
 * Snapshots are the state's JSON in Ratis' snapshot directory.
 */
final class HiveStateMachine extends BaseStateMachine {
  static final String OK = "OK";

  private final StateCodec codec = new StateCodec();
  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final List<Consumer<ClusterState>> listeners = new CopyOnWriteArrayList<>();
  private volatile ClusterState state = ClusterState.EMPTY;

  ClusterState state() {
    return state;
  }

  void onApplied(Consumer<ClusterState> listener) {
    listeners.add(listener);
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    loadSnapshot(storage.getLatestSnapshot());
  }

  @Override
  public void reinitialize() throws IOException {
    loadSnapshot(storage.loadLatestSnapshot());
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
    state = codec.decodeState(Files.readAllBytes(file.toPath()));
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
    Files.write(tmp.toPath(), codec.encode(state));
    Files.move(tmp.toPath(), file.toPath(), java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new org.apache.ratis.server.storage.FileInfo(file.toPath(), null), last));
    return last.getIndex();
  }

  /** The leader refuses a command its state refuses before it reaches the log. */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    Command command = codec.decodeCommand(request.getMessage().getContent().toByteArray());
    try {
      StateMachine.apply(state, command);
    } catch (HiveException e) {
      throw new IOException(encodeError(e));
    }
    return super.startTransaction(request);
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    byte[] data = entry.getStateMachineLogEntry().getLogData().toByteArray();
    String reply;
    ClusterState after;
    synchronized (this) {
      try {
        state = StateMachine.apply(state, codec.decodeCommand(data));
        reply = OK;
      } catch (HiveException e) {
        reply = encodeError(e);
      }
      updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
      after = state;
    }
    for (Consumer<ClusterState> listener : listeners) {
      listener.accept(after);
    }
    return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(reply, StandardCharsets.UTF_8)));
  }

  static String encodeError(HiveException e) {
    String kind = e instanceof InvalidSpecException i ? "invalid:" + i.field() : e instanceof NotFoundException ? "notfound" : e instanceof ConflictException ? "conflict" : "error";
    String message = e instanceof InvalidSpecException i ? i.reason() : e.getMessage();
    return "ERR|" + kind + "|" + message;
  }

  /** Turns a refusal carried in a reply or an exception message back into the exception. */
  static HiveException decodeError(String text) {
    int start = text.indexOf("ERR|");
    if (start < 0) {
      return null;
    }
    String[] parts = text.substring(start).split("\\|", 3);
    String message = parts.length > 2 ? parts[2] : text;
    String kind = parts.length > 1 ? parts[1] : "error";
    if (kind.startsWith("invalid:")) {
      return new InvalidSpecException(kind.substring("invalid:".length()), message);
    }
    return switch (kind) {
      case "notfound" -> new NotFoundException(message);
      case "conflict" -> new ConflictException(message);
      default -> new HiveException(message);
    };
  }
}
