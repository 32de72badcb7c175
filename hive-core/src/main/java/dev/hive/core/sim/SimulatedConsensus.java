package dev.hive.core.sim;

import dev.hive.api.CommandStatus;
import dev.hive.api.HiveException;
import dev.hive.api.NotFoundException;
import dev.hive.core.consensus.CommittedChanges;
import dev.hive.core.follow.ChangeFeed;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.Request;
import dev.hive.core.state.RequestLedger;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A log that commits each write at once, in the caller's thread, with the same ledger and state
 * machine a Raft server applies: the consensus behind {@link ChangeFeed}s in simulations and unit
 * tests of following, where Raft itself is not what is measured. Several feeds may follow it, as
 * several servers apply one log.
 */
public final class SimulatedConsensus implements ChangeFeed.Consensus {
  private final RequestLedger ledger = new RequestLedger();
  private final List<CommittedChanges> listeners = new CopyOnWriteArrayList<>();
  private ClusterState state = ClusterState.EMPTY;
  private long index;
  private String leader = "leader";

  /** Commits a write with a deadline an hour away: not Long.MAX_VALUE, which the ledger's retention arithmetic would overflow. */
  public CompletableFuture<Long> submitAsync(Command command, String requestId) {
    return submitAsync(command, requestId, System.currentTimeMillis() + 3_600_000);
  }

  @Override
  public synchronized CompletableFuture<Long> submitAsync(Command command, String requestId, long deadlineMillis) {
    index++;
    long now = System.currentTimeMillis();
    Request request = new Request(requestId, deadlineMillis, now, new dev.hive.core.state.StateCodec().digest(command), command);
    RequestLedger.Result result;
    try {
      result = ledger.apply(state, request, index);
    } catch (HiveException e) {
      notifyCommitted(List.of());
      return CompletableFuture.failedFuture(e);
    }
    List<Command> applied = new ArrayList<>();
    if (result.state() != state) {
      applied.add(command);
    }
    state = result.state();
    notifyCommitted(applied);
    if (result.outcome() != null && !result.outcome().applied()) {
      return CompletableFuture.failedFuture(result.outcome().refusalException());
    }
    return CompletableFuture.completedFuture(index);
  }

  private void notifyCommitted(List<Command> applied) {
    for (CommittedChanges l : listeners) {
      l.committed(index, applied, state);
    }
  }

  @Override
  public synchronized CompletableFuture<Long> readIndexAsync() {
    return CompletableFuture.completedFuture(index);
  }

  /** Returns what became of a write submitted to this log. */
  public CommandStatus status(String requestId) {
    return status(requestId, 0);
  }

  @Override
  public synchronized CommandStatus status(String requestId, long deadlineWhereTaken) {
    if (ledger.outcome(requestId).isEmpty() && deadlineWhereTaken > 0) {
      if (System.currentTimeMillis() <= deadlineWhereTaken) {
        return new CommandStatus(requestId, CommandStatus.State.UNKNOWN, 0, "");
      }
      // Past its deadline: a settling entry records the refusal, as on a Raft server.
      submitAsync(new Command.SettleRequest(), requestId, deadlineWhereTaken);
    }
    return ledger.outcome(requestId)
        .map(o -> new CommandStatus(requestId, o.applied() ? CommandStatus.State.APPLIED : CommandStatus.State.REFUSED, o.logIndex(), o.applied() ? "" : o.refusal()))
        .orElseThrow(() -> new NotFoundException("no request " + requestId));
  }

  @Override
  public synchronized String leaderId() {
    return leader;
  }

  /** Makes the servers following this log know no leader (null), or {@code id}. */
  public synchronized void leader(String id) {
    this.leader = id;
  }

  @Override
  public synchronized void follow(CommittedChanges listener) {
    listener.reset(index, state);
    listeners.add(listener);
  }

  /** Returns the state after every write so far. */
  public synchronized ClusterState state() {
    return state;
  }

  /** Returns the index of the last write. */
  public synchronized long index() {
    return index;
  }
}
