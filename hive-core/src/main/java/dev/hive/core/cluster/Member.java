package dev.hive.core.cluster;

import dev.hive.api.NodeState;
import dev.hive.spi.DiscoveredPeer;
import java.util.Map;

/**
 * What one node knows of a member at one moment: where its transport listens, its incarnation
 * (only the member itself raises it, to refute a suspicion), its state and when it was last heard
 * from. {@code meta} carries the member's name, API and consensus ports and capacity.
 *
 * @param id node id
 * @param host transport host
 * @param port transport port
 * @param incarnation the member's own counter; higher news wins
 * @param state ALIVE, SUSPECT, DEAD or LEFT
 * @param stateSinceMillis when this node saw the state begin
 * @param lastSeenMillis when this node last heard from the member itself (0 if never)
 * @param meta the member's self-description
 */
public record Member(
    String id, String host, int port, long incarnation, NodeState state, long stateSinceMillis, long lastSeenMillis, Map<String, String> meta) {
  public Member {
    meta = Map.copyOf(meta);
  }

  /** Returns the member's transport address. */
  public DiscoveredPeer peer() {
    return new DiscoveredPeer(id, host, port);
  }

  Member with(NodeState newState, long incarnation, long now) {
    return new Member(id, host, port, incarnation, newState, newState == state ? stateSinceMillis : now, lastSeenMillis, meta);
  }

  Member seen(long now) {
    return new Member(id, host, port, incarnation, state, stateSinceMillis, now, meta);
  }
}
