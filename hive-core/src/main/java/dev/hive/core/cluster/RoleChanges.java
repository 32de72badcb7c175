package dev.hive.core.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.core.cluster.ClusterNode.Role;
import dev.hive.core.consensus.RaftCommandLog;
import dev.hive.core.follow.ChangeFeed;
import dev.hive.core.follow.FollowedLog;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a node runs in its role, and how it changes role when the leader asks: a server feeds
 * its clients ({@link ChangeFeed}); a client follows a server ({@link FollowedLog}); a client the
 * leader chose becomes a server, and a listener the group does not need becomes a client, each
 * switching the node's {@link RoleLog} only once its new log has caught up with the old one.
 */
final class RoleChanges {
  /** What starting a Raft server needs beyond what the node holds. */
  record Setup(String clusterName, String bind, int clusterPort, Path dataDir, Clock clock, List<AutoCloseable> closeables) {}

  private static final Logger log = LoggerFactory.getLogger(RoleChanges.class);

  private final ClusterNode node;
  private final Setup setup;
  /** What a server that votes announces as its role. */
  static final String SERVER = "server";
  /** What a server that follows the log without a vote announces as its role. */
  static final String STANDBY = "standby";

  /** Set while this node changes role. */
  private final AtomicBoolean changing = new AtomicBoolean();
  /** This server's feed and its handler, while it is one. */
  private volatile ChangeFeed feed;
  private volatile Transport.Handler feedHandler;

  RoleChanges(ClusterNode node, Setup setup) {
    this.node = node;
    this.setup = setup;
  }

  /** A few times a second, whichever the role: a client follows, a server feeds and says whether it votes. */
  void tick() {
    FollowedLog following = node.follower;
    ChangeFeed feeding = node.raft != null ? feed : null;
    if (following != null) {
      following.tick();
    }
    if (feeding != null) {
      feeding.tick();
    }
    announceVote();
  }

  /**
   * Announces "server" while this node votes in the group and "standby" while it follows the log
   * as a listener (a joiner told to serve, until it is made a voter; a client being made a
   * server, once it has caught up; a listener the group does not need, until it is a client).
   * A server lists the group's listeners as clients and a client lists each node as it
   * announces itself: a standby that announced "server" was a SERVER on clients and a CLIENT on
   * servers, and a test that took it for the third server killed a voter instead and lost the
   * group's majority.
   */
  private void announceVote() {
    RaftCommandLog server = node.raft;
    String announced = node.baseMeta.get("role");
    if (server == null || changing.get() || !(SERVER.equals(announced) || STANDBY.equals(announced))) {
      return;
    }
    boolean voter;
    try {
      voter = server.configuration().stream().anyMatch(p -> p.id().equals(node.nodeId) && p.voter());
    } catch (RuntimeException e) {
      return;
    }
    String role = voter ? SERVER : STANDBY;
    if (!role.equals(announced)) {
      Map<String, String> meta = new LinkedHashMap<>(node.baseMeta);
      meta.put("role", role);
      node.baseMeta = Map.copyOf(meta);
      node.membership.updateMeta(node.baseMeta);
    }
  }

  /** A server's part: the feed its clients follow, and, on the leader, keeping the servers. */
  void serve(RaftCommandLog server) {
    ExecutorService feedPushes = Executors.newSingleThreadExecutor(ClusterNode.daemon("hive-follow-feed"));
    ExecutorService feedQuestions = Executors.newFixedThreadPool(2, ClusterNode.daemon("hive-follow-status"));
    setup.closeables().add(feedPushes::shutdownNow);
    setup.closeables().add(feedQuestions::shutdownNow);
    ChangeFeed feed = new ChangeFeed(node.transport, ChangeFeed.Consensus.of(server), setup.clock(), feedPushes, feedQuestions).start();
    this.feed = feed;
    feedHandler = feed::handle;
    node.handlers.put(ChangeFeed.TOPICS, feedHandler);
  }

  /** On a client the leader chose: starts becoming a server in the background, and answers at once. */
  byte[] takePromotion(String from, byte[] payload) {
    JsonNode request = ClusterNode.parse(payload);
    List<RaftCommandLog.Peer> peers = new ArrayList<>();
    for (JsonNode p : request.path("peers")) {
      peers.add(new RaftCommandLog.Peer(p.path("id").asText(), p.path("address").asText(), p.path("voter").asBoolean()));
    }
    JsonNode leader = request.path("leader");
    if (peers.isEmpty() || !leader.path("port").canConvertToInt() || leader.path("host").asText("").isEmpty()) {
      throw new HiveException("a request to become a server names the group's peers and the leader's host and port; got " + request);
    }
    DiscoveredPeer leaderPeer = new DiscoveredPeer(from, leader.path("host").asText(), leader.path("port").asInt());
    if (node.raft == null && changing.compareAndSet(false, true)) {
      Thread t = new Thread(() -> {
        try {
          becomeServer(peers, leaderPeer);
        } finally {
          changing.set(false);
        }
      }, "hive-promotion");
      t.setDaemon(true);
      t.start();
    }
    return "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * Makes this client a server: it starts a Raft server as a listener of the group, is added by
   * the leader, follows the log until its state reaches the copy it had, and only then reads and
   * writes through it and feeds clients of its own. The leader makes it a voter once it has
   * followed stably ({@link ServerKeeping#STABILIZATION}).
   */
  private void becomeServer(List<RaftCommandLog.Peer> peers, DiscoveredPeer leader) {
    Path raftDir = setup.dataDir().resolve("raft");
    RaftCommandLog server = null;
    try {
      if (Files.exists(raftDir)) {
        // Left from a server role this node had before it was a client: never mixed with the group's current log.
        Files.move(raftDir, setup.dataDir().resolve("raft.before-" + System.currentTimeMillis()));
      }
      String address = node.advertiseHost + ":" + (setup.clusterPort() == 0 ? ClusterNode.freePort() : setup.clusterPort() + 1);
      List<RaftCommandLog.Peer> initial = new ArrayList<>(peers);
      initial.add(new RaftCommandLog.Peer(node.nodeId, address, false));
      log.info("the leader {} asks this client to become a server: starting a consensus server at {}", leader.nodeId(), address);
      server = RaftCommandLog.start(setup.clusterName(), node.nodeId, raftDir, setup.bind(), address, initial, node.pki, RaftCommandLog.Timing.DEFAULTS);
      ClusterFormation.awaitAdmission(node.transport, leader, server, address, ServerKeeping.PROMOTION_PATIENCE);
      long copy = node.roleLog.state().index();
      long deadline = System.nanoTime() + ServerKeeping.PROMOTION_PATIENCE.toNanos();
      while (server.state().index() < copy) {
        if (System.nanoTime() > deadline) {
          throw new UnavailableException("the new consensus server reached state " + server.state().index() + " of this client's " + copy);
        }
        ClusterNode.sleep(50);
      }
      setup.closeables().add(server);
      node.raft = server;
      node.roleLog.use(server);
      ClusterNode.writeRole(setup.dataDir().resolve(ClusterNode.ROLE_FILE), Role.SERVER);
      Map<String, String> meta = new LinkedHashMap<>(node.baseMeta);
      meta.put("role", STANDBY);
      meta.put("raft", address);
      node.baseMeta = Map.copyOf(meta);
      node.membership.updateMeta(node.baseMeta);
      serve(server);
      FollowedLog old = node.follower;
      node.follower = null;
      old.close();
      log.info("this node is a server now");
    } catch (IOException | RuntimeException e) {
      log.warn("cannot become a server ({}); staying a client", e.getMessage());
      if (server != null) {
        server.close();
        try {
          Files.move(raftDir, setup.dataDir().resolve("raft.failed-" + System.currentTimeMillis()));
        } catch (IOException moveFailed) {
          log.warn("cannot move the failed server's storage {} aside: {}; remove it before the next start", raftDir, moveFailed.getMessage());
        }
      }
    }
  }

  /** On a server the leader does not need: starts becoming a client in the background, and answers at once. */
  byte[] takeDemotion(String from) {
    if (node.raft != null && !node.raft.isLeader() && changing.compareAndSet(false, true)) {
      Thread t = new Thread(() -> {
        try {
          becomeClient(from);
        } finally {
          changing.set(false);
        }
      }, "hive-demotion");
      t.setDaemon(true);
      t.start();
    }
    return "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * Makes this listener a client: it follows a server until its copy reaches the state its Raft
   * server has, then reads and writes through the copy, closes its Raft server and moves its
   * storage aside (the leader then drops it from the group). The way a node of a cluster from
   * before roles, restarted on this version, becomes the client it would be today.
   */
  private void becomeClient(String leaderId) {
    RaftCommandLog server = node.raft;
    FollowedLog copy = new FollowedLog(node.transport, node.advertiseHost, node.port, node::otherServers, setup.clock(), RaftCommandLog.Timing.DEFAULTS.writeTimeout());
    log.info("the leader {} has the servers it needs: this listener becomes a client", leaderId);
    node.handlers.put(ChangeFeed.TOPICS, copy);
    node.follower = copy;
    long deadline = System.nanoTime() + ServerKeeping.PROMOTION_PATIENCE.toNanos();
    while (copy.state().index() < server.state().index() || copy.index() < 0) {
      if (System.nanoTime() > deadline) {
        log.warn("the client's copy reached state {} of the server's {} in {} s; staying a server", copy.state().index(), server.state().index(),
            ServerKeeping.PROMOTION_PATIENCE.toSeconds());
        node.follower = null;
        copy.close();
        node.handlers.put(ChangeFeed.TOPICS, feedHandler);
        return;
      }
      ClusterNode.sleep(50);
    }
    node.roleLog.use(copy);
    ClusterNode.writeRole(setup.dataDir().resolve(ClusterNode.ROLE_FILE), Role.CLIENT);
    Map<String, String> meta = new LinkedHashMap<>(node.baseMeta);
    meta.put("role", "client");
    meta.remove("raft");
    node.baseMeta = Map.copyOf(meta);
    node.membership.updateMeta(node.baseMeta);
    node.raft = null;
    server.close();
    Path raftDir = setup.dataDir().resolve("raft");
    try {
      Files.move(raftDir, setup.dataDir().resolve("raft.before-" + System.currentTimeMillis()));
    } catch (IOException e) {
      log.warn("cannot move the former server's storage {} aside: {}; remove it before the next start", raftDir, e.getMessage());
    }
    log.info("this node is a client now");
  }
}
