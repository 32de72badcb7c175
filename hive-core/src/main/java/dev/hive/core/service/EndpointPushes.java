package dev.hive.core.service;

import dev.hive.api.NodeState;
import dev.hive.core.cluster.Member;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which live members still need this node's endpoints: those that have not acknowledged its
 * current version and are not being sent it now. A member that stops being ALIVE is forgotten, so
 * it is sent them again when it comes back; a restarted member pushes its own first and takes
 * this node's from the answer.
 *
 * <p>Pushing to every member every sync interval instead costs the cluster n² requests per
 * interval: 1,225 a second among 50 nodes, most of what kept 50 nodes over libp2p from forming.
 */
final class EndpointPushes {
  private final String self;
  private final Map<String, Long> acknowledged = new ConcurrentHashMap<>();
  private final Set<String> sending = ConcurrentHashMap.newKeySet();

  EndpointPushes(String self) {
    this.self = self;
  }

  /** Returns the members to send {@code version} to now, and marks them as being sent it. */
  List<Member> due(Collection<Member> members, long version) {
    Set<String> alive = new HashSet<>();
    for (Member m : members) {
      if (m.state() == NodeState.ALIVE && !m.id().equals(self)) {
        alive.add(m.id());
      }
    }
    acknowledged.keySet().retainAll(alive);
    return members.stream()
        .filter(m -> alive.contains(m.id()))
        .filter(m -> acknowledged.getOrDefault(m.id(), -1L) != version)
        .filter(m -> sending.add(m.id()))
        .toList();
  }

  /** Records the outcome of a push of {@code version} to {@code member}. */
  void done(String member, long version, boolean delivered) {
    if (delivered) {
      acknowledged.merge(member, version, Math::max);
    }
    sending.remove(member);
  }
}
