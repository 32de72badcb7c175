package dev.hive.core.consensus;

import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import java.util.List;

/**
 * Hears a server's applied log in order, as a client replays it: the commands that changed the
 * state at each index. Called under the state machine's lock, so it must not block.
 */
public interface CommittedChanges {
  /** The state was replaced (this listener attached, or a snapshot was installed) and stands at {@code index}. */
  void reset(long index, ClusterState state);

  /** The entry at {@code index} applied {@code applied} (none when all its requests were refused or repeated), leaving {@code after}. */
  void committed(long index, List<Command> applied, ClusterState after);
}
