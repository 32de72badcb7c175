package dev.hive.core.consensus;

import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import java.util.function.Consumer;

/**
 * Orders commands and applies them to the cluster state. One node: {@link LocalCommandLog}; a
 * Raft group arrives with the issue "Cluster formation".
 */
public interface CommandLog extends AutoCloseable {
  /** Returns the state after every command applied so far. */
  ClusterState state();

  /**
   * Appends and applies a command; returns the state after it. A command the state machine
   * refuses is not appended, and its exception propagates.
   */
  ClusterState submit(Command command);

  /** Calls {@code listener} with the new state after every applied command. */
  void onApplied(Consumer<ClusterState> listener);

  @Override
  void close();
}
