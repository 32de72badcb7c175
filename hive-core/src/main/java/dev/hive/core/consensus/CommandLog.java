package dev.hive.core.consensus;

import dev.hive.api.CommandStatus;
import dev.hive.api.ConflictException;
import dev.hive.api.NotFoundException;
import dev.hive.api.OutcomeUnknownException;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import java.util.function.Consumer;

/**
 * Orders commands and applies them to the cluster state. One node: {@link LocalCommandLog}; a
 * cluster: {@link RaftCommandLog}.
 *
 * <p>Every command travels as a request with an id and a deadline (the log's write timeout): it
 * applies at most once per id, and never once its deadline has passed before it reached the
 * log's head ({@link dev.hive.core.state.RequestLedger}).
 */
public interface CommandLog extends AutoCloseable {
  /** Returns the state after every command applied so far. */
  ClusterState state();

  /** Submits {@code command} with a fresh request id; see {@link #submit(Command, String)}. */
  default ClusterState submit(Command command) {
    return submit(command, null);
  }

  /**
   * Appends and applies a command as the request {@code requestId} (a fresh id when null) and
   * returns the state once this node has applied it. A command the state refuses changes
   * nothing, and its exception propagates; a request id seen before returns its first outcome.
   *
   * @throws ConflictException if {@code requestId} was used for a different command
   * @throws OutcomeUnknownException if no outcome reached this node by the request's deadline
   */
  ClusterState submit(Command command, String requestId);

  /**
   * Returns what became of the request {@code requestId}; once its deadline has passed, settles
   * it through the log, so that the answer is final.
   *
   * @throws NotFoundException if this node neither submitted nor has a record of it
   */
  CommandStatus status(String requestId);

  /**
   * Waits until this node's state holds every write committed before the call (a linearizable
   * read begins after it); returns that state.
   *
   * @throws dev.hive.api.UnavailableException if no leader confirms its commit index within the write timeout
   */
  default ClusterState currentState() {
    return state();
  }

  /** Calls {@code listener} with the new state after every applied command. */
  void onApplied(Consumer<ClusterState> listener);

  @Override
  void close();
}
