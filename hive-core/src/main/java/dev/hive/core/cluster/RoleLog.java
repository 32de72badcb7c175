package dev.hive.core.cluster;

import dev.hive.api.CommandStatus;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The command log of a node whose role can change while it runs: a client's copy until it is
 * made a server, then its Raft server's (or the other way round). Everything else on the node
 * holds this one, so that a change of role needs no rewiring; listeners hear whichever log is in use.
 */
final class RoleLog implements CommandLog {
  private final List<Consumer<ClusterState>> listeners = new CopyOnWriteArrayList<>();
  private volatile CommandLog current;

  RoleLog(CommandLog initial) {
    use(initial);
  }

  /** Makes {@code next} the log in use; the previous one is left to its owner to close. */
  void use(CommandLog next) {
    next.onApplied(state -> {
      if (current == next) {
        listeners.forEach(l -> l.accept(state));
      }
    });
    current = next;
    ClusterState now = next.state();
    listeners.forEach(l -> l.accept(now));
  }

  CommandLog current() {
    return current;
  }

  @Override
  public ClusterState state() {
    return current.state();
  }

  @Override
  public ClusterState submit(Command command, String requestId) {
    return current.submit(command, requestId);
  }

  @Override
  public CommandStatus status(String requestId) {
    return current.status(requestId);
  }

  @Override
  public ClusterState currentState() {
    return current.currentState();
  }

  @Override
  public void onApplied(Consumer<ClusterState> listener) {
    listeners.add(listener);
  }

  @Override
  public void close() {
    current.close();
  }
}
