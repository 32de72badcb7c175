package dev.hive.core.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
import dev.hive.api.NodeState;
import dev.hive.core.cluster.ClusterNode.Role;
import dev.hive.core.consensus.RaftCommandLog;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the servers keep their number, as Consul's autopilot: a server tells each joiner its role
 * (a server while the group and the joiners promised a place number fewer than the target), and
 * the leader, every couple of seconds, adds back servers that restarted, promotes listeners while
 * the group is short of servers, asks a client to become a server when one is lost and no
 * listener waits, replaces a dead server only with one that has followed stably, and asks a
 * listener it does not need to become a client.
 */
final class ServerKeeping {
  /** The leader asks a client to become a server on this topic. */
  static final String PROMOTE = "hive.role.serve";
  /** The leader asks a listener it does not need as a server to become a client on this topic. */
  static final String DEMOTE = "hive.role.follow";
  /** How long a joiner told to become a server counts towards the servers before it is in the group. */
  static final Duration SERVER_PROMISE = Duration.ofSeconds(60);
  /** How long a new server follows the log as a listener before it replaces a dead one, as Consul autopilot's stabilization time. */
  static final Duration STABILIZATION = Duration.ofSeconds(10);
  /** How long a server may go without answering the leader's appends before a dead one (to membership) is replaced. */
  static final Duration SERVER_SILENCE = Duration.ofSeconds(5);
  /** How long the leader waits for a node it asked to change role before it asks again, or another. */
  static final Duration PROMOTION_PATIENCE = Duration.ofSeconds(60);
  /** How long a listener stays in a group that has all its servers before it is made a client. */
  static final Duration SPARE_PATIENCE = Duration.ofSeconds(30);

  private static final Logger log = LoggerFactory.getLogger(ServerKeeping.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ClusterNode node;
  private final int targetServers;
  /** Joiners told to become servers, by id, with when (System.nanoTime). */
  private final Map<String, Long> promisedServers = new ConcurrentHashMap<>();
  /** Since when each listener is in the group (System.nanoTime). */
  private final Map<String, Long> listenerSince = new ConcurrentHashMap<>();
  /** When the leader last asked each listener to become a client (System.nanoTime). */
  private final Map<String, Long> demotionAsks = new ConcurrentHashMap<>();
  /** When the leader last asked a client to become a server (System.nanoTime), or 0. */
  private volatile long lastPromotionAsk;

  ServerKeeping(ClusterNode node, int targetServers) {
    this.node = node;
    this.targetServers = targetServers;
  }

  /**
   * On a server: tells a joiner the group, and which role it takes. A joiner that asks for none
   * becomes a server while the group and the joiners already told so number fewer than the
   * target; the promise counts for {@link #SERVER_PROMISE}, so that fifty nodes joining at once
   * make three servers, not fifty.
   */
  synchronized byte[] answerConfiguration(String from, byte[] payload) {
    Role asked = payload.length == 0 ? Role.SERVER : Role.parse(ClusterNode.parse(payload).path("role").asText("auto"));
    List<RaftCommandLog.Peer> conf = node.raft().configuration();
    long now = System.nanoTime();
    java.util.Set<String> inGroup = new java.util.HashSet<>();
    conf.forEach(p -> inGroup.add(p.id()));
    promisedServers.entrySet().removeIf(e -> inGroup.contains(e.getKey()) || now - e.getValue() > SERVER_PROMISE.toNanos());
    boolean server = switch (asked) {
      case SERVER -> true;
      case CLIENT -> false;
      case AUTO -> inGroup.contains(from) || promisedServers.containsKey(from) || conf.size() + promisedServers.size() < targetServers;
    };
    if (server && !inGroup.contains(from)) {
      promisedServers.put(from, now);
    }
    ObjectNode o = JSON.createObjectNode();
    ArrayNode array = o.putArray("peers");
    conf.forEach(p -> array.addObject().put("id", p.id()).put("address", p.address()).put("voter", p.voter()));
    o.put("role", server ? "server" : "client");
    ArrayNode servers = o.putArray("servers");
    node.servers().forEach(p -> servers.addObject().put("id", p.nodeId()).put("host", p.host()).put("port", p.port()));
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new HiveException("cannot encode the configuration", e);
    }
  }

  /**
   * On the leader: replaces voters that membership holds DEAD or LEFT by live members, promotes
   * members while there are fewer than five voters, drops members that LEFT, and adds back a live
   * member the group does not hold: a node that left (SIGTERM) is dropped, and when it starts
   * again on its data dir it only knows its old configuration, so no one would ever send it the
   * log again (it stayed "no leader known" for minutes). As Consul's servers rejoin after a leave.
   */
  void maintain() {
    RaftCommandLog raft = node.raft();
    if (raft == null || !raft.isLeader()) {
      return;
    }
    Map<String, Member> byId = new java.util.HashMap<>();
    node.members().forEach(m -> byId.put(m.id(), m));
    List<RaftCommandLog.Peer> conf = raft.configuration();
    for (Member m : byId.values()) {
      String raftAddress = m.meta().get("raft");
      if (m.state() == NodeState.ALIVE && raftAddress != null && conf.stream().noneMatch(p -> p.id().equals(m.id()))) {
        log.info("adding {} back to the consensus group: it is alive but not in the group (it left and started again)", m.id());
        raft.requestAdd(m.id(), raftAddress);
      }
    }
    List<RaftCommandLog.Peer> voters = new ArrayList<>();
    List<RaftCommandLog.Peer> spares = new ArrayList<>();
    List<RaftCommandLog.Peer> gone = new ArrayList<>();
    for (RaftCommandLog.Peer p : conf) {
      Member m = byId.get(p.id());
      NodeState state = p.id().equals(node.nodeId) ? NodeState.ALIVE : m == null ? NodeState.ALIVE : m.state();
      // Only a listener this leader asked to follow: a client being made a server is a listener
      // that still says "client" until it has caught up, and dropping it lost the replacement.
      boolean nowAClient = m != null && !p.voter() && "client".equals(m.meta().get("role")) && demotionAsks.containsKey(p.id());
      if (state == NodeState.LEFT || nowAClient) {
        gone.add(p);
      } else if (p.voter()) {
        voters.add(p);
      } else if (state == NodeState.ALIVE) {
        spares.add(p);
      }
    }
    long now = System.nanoTime();
    listenerSince.keySet().retainAll(spares.stream().map(RaftCommandLog.Peer::id).toList());
    spares.forEach(p -> listenerSince.putIfAbsent(p.id(), now));
    // One change per round: Ratis refuses to change a majority of voters at once.
    boolean changed = !gone.isEmpty();
    List<RaftCommandLog.Peer> newVoters = new ArrayList<>(voters);
    // Dead to membership and silent to the log: a server too busy to answer probes in time
    // still answers appends, and replacing it moved the servers three times while 100 nodes formed.
    java.util.Set<String> answering = raft.answeredWithin(SERVER_SILENCE);
    RaftCommandLog.Peer dead = voters.stream().filter(p -> !p.id().equals(node.nodeId) && byId.containsKey(p.id())
        && byId.get(p.id()).state() == NodeState.DEAD && !answering.contains(p.id())).findFirst().orElse(null);
    boolean needsServer = dead != null || newVoters.size() < targetServers;
    // A growing group takes a listener at once; one that replaces a dead server must first have
    // followed the log for the stabilization time, so that a flapping node never holds a vote.
    List<RaftCommandLog.Peer> ready = spares.stream()
        .filter(p -> dead == null || now - listenerSince.get(p.id()) >= STABILIZATION.toNanos())
        .sorted(java.util.Comparator.comparing(RaftCommandLog.Peer::id)).toList();
    if (needsServer && spares.isEmpty()) {
      askAClientToServe(byId, conf);
    }
    if (!needsServer) {
      // A listener the group does not need (a node of a cluster from before roles, or one more
      // joiner than the target) follows as a client instead: a server costs every write.
      spares.stream().filter(p -> now - listenerSince.get(p.id()) >= SPARE_PATIENCE.toNanos())
          .filter(p -> byId.containsKey(p.id()) && "true".equals(byId.get(p.id()).meta().get("promotable")))
          .forEach(p -> askToFollow(byId.get(p.id())));
    }
    if (!changed && !ready.isEmpty() && needsServer) {
      RaftCommandLog.Peer promoted = ready.get(0);
      spares.remove(promoted);
      newVoters.add(new RaftCommandLog.Peer(promoted.id(), promoted.address(), true));
      if (dead != null) {
        // Out of the group, not made a listener: a role change is two changes (setConfiguration),
        // and the second, adding a node that does not answer, would time out. When it is alive
        // again, the maintenance above adds it back.
        newVoters.remove(dead);
      }
      changed = true;
    }
    if (changed) {
      List<RaftCommandLog.Peer> next = new ArrayList<>(newVoters);
      spares.forEach(s -> next.add(new RaftCommandLog.Peer(s.id(), s.address(), false)));
      log.info("reconfiguring consensus: voters {} members {}", newVoters.stream().map(RaftCommandLog.Peer::id).toList(),
          spares.stream().map(RaftCommandLog.Peer::id).toList());
      raft.setConfiguration(conf, next);
    }
  }

  /**
   * On the leader, when the group needs a server and has no listener to promote: asks a live
   * client that may become one (it was not started with --client), the one with the lowest id,
   * at most once per {@link #PROMOTION_PATIENCE}.
   */
  private void askAClientToServe(Map<String, Member> members, List<RaftCommandLog.Peer> conf) {
    long now = System.nanoTime();
    if (lastPromotionAsk != 0 && now - lastPromotionAsk < PROMOTION_PATIENCE.toNanos()) {
      return;
    }
    Member candidate = members.values().stream()
        .filter(m -> m.state() == NodeState.ALIVE && "client".equals(m.meta().get("role")) && "true".equals(m.meta().get("promotable")))
        .min(java.util.Comparator.comparing(Member::id)).orElse(null);
    if (candidate == null) {
      return;
    }
    lastPromotionAsk = now;
    ObjectNode request = JSON.createObjectNode();
    ArrayNode peers = request.putArray("peers");
    conf.forEach(p -> peers.addObject().put("id", p.id()).put("address", p.address()).put("voter", p.voter()));
    request.putObject("leader").put("host", node.advertiseHost).put("port", node.port);
    log.info("the group needs a server: asking client {} to become one", candidate.id());
    try {
      node.transport().request(candidate.peer(), PROMOTE, JSON.writeValueAsBytes(request), Duration.ofSeconds(5)).exceptionally(e -> {
        log.info("client {} did not take the request to become a server: {}", candidate.id(), e.getMessage());
        lastPromotionAsk = 0;
        return null;
      });
    } catch (IOException e) {
      throw new HiveException("cannot encode the request to become a server", e);
    }
  }

  /** On the leader: asks a listener it does not need to become a client, at most once per {@link #PROMOTION_PATIENCE} each. */
  private void askToFollow(Member listener) {
    long now = System.nanoTime();
    Long last = demotionAsks.get(listener.id());
    if (last != null && now - last < PROMOTION_PATIENCE.toNanos()) {
      return;
    }
    demotionAsks.put(listener.id(), now);
    log.info("the group has its servers: asking listener {} to become a client", listener.id());
    node.transport().request(listener.peer(), DEMOTE, new byte[0], Duration.ofSeconds(5)).exceptionally(e -> {
      log.info("listener {} did not take the request to become a client: {}", listener.id(), e.getMessage());
      return null;
    });
  }
}
