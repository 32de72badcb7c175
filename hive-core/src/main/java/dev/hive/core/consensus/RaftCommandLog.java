package dev.hive.core.consensus;

import dev.hive.api.CommandStatus;
import dev.hive.api.HiveException;
import dev.hive.api.OutcomeUnknownException;
import dev.hive.api.NodeRole;
import dev.hive.api.UnavailableException;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.TlsContexts;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.Refusals;
import dev.hive.core.state.Request;
import dev.hive.core.state.RequestLedger;
import dev.hive.core.state.StateCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Iterator;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's command log on Apache Ratis: one Raft group per cluster, whose id derives from the
 * cluster name, held by the cluster's servers: they vote, and a server joining (or being made one)
 * follows as a Raft listener until the leader makes it a voter (ServerKeeping). Writes
 * from any node go to the leader through a Ratis client; the call returns once this node has
 * applied the command too, so a node reads its own writes. Node-to-node Raft traffic is gRPC with
 * mutual TLS 1.3 on the cluster's certificates, on the node's bind address only.
 */
public final class RaftCommandLog implements CommandLog {
  /**
   * Listeners added by one configuration change at most. The leader brings every new listener up
   * to date before the change commits, and one that falls behind fails the whole change: with
   * fifty joiners in one change on two cores, some always did, and the retry staged all fifty again.
   */
  static final int MAX_ADDS_PER_CHANGE = 8;
  /** Log entries between two snapshots. */
  static final long SNAPSHOT_EVERY = 10_000;
  /** How long {@link #addPeer} keeps trying; under the 30 s a joiner waits for the answer. */
  private static final Duration JOIN_PATIENCE = Duration.ofSeconds(25);

  private static final Logger log = LoggerFactory.getLogger(RaftCommandLog.class);

  private final String nodeId;
  private final RaftGroupId groupId;
  private final RaftProperties properties;
  private final Parameters parameters;
  /** Replaced when the group shut this node's server down ({@link #rejoin}). */
  private volatile RaftServer server;
  private volatile HiveStateMachine stateMachine;
  /** While this node catches up after a rejoin, the state it had before: its reads and reconciler use it. */
  private volatile ClusterState frozenState;
  private volatile boolean closed;
  private final java.util.concurrent.atomic.AtomicBoolean rejoining = new java.util.concurrent.atomic.AtomicBoolean();
  private final java.util.concurrent.atomic.AtomicInteger rejoins = new java.util.concurrent.atomic.AtomicInteger();
  private final ExecutorService rejoiner = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "hive-raft-rejoin");
    t.setDaemon(true);
    return t;
  });
  private final StateCodec codec = new StateCodec();
  private final Duration writeTimeout;
  private RaftClient client;
  /**
   * Asks for read indexes; apart from {@link #client}, whose connection to a server is closed
   * (gracefully: it waits for the calls on it) when that server turns out not to lead. A read
   * index held up by a dead leader (3 s) on the writes' connection held the next write that long.
   */
  private RaftClient readClient;
  /** Nodes waiting to be added, guarded by itself; {@link #addApplier} adds them in batches. */
  private final List<PendingAdd> pendingAdds = new ArrayList<>();
  private final ExecutorService addApplier = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "hive-raft-adds");
    t.setDaemon(true);
    return t;
  });
  private Set<RaftPeerId> clientPeers = Set.of();
  /** How far this node may trail the leader's applied index, in time, before it reports itself stale. */
  static final Duration LAG_LIMIT = Duration.ofSeconds(5);
  /**
   * Sleep between the Raft client's tries of a request. Not shorter: with 100 ms a write reached
   * a new leader 0.3 s after its election instead of 1.0-1.4 s, but a founder started again on
   * its storage was then not told to shut down within 30 s in 2 of 4 loaded runs of
   * RaftRestartTest (none of 4 with 500 ms).
   */
  private static final Duration RETRY_SLEEP = Duration.ofMillis(500);
  /** The leader's applied index as learnt every second: (when, index), newest last. */
  private final java.util.ArrayDeque<long[]> leaderIndexes = new java.util.ArrayDeque<>();
  /**
   * Sends the batches, with the Raft client's blocking call: each of its tries is a request of its
   * own. The async call puts every request in one ordered window per server, which a server
   * answers in order, and around a leader's death a retried write waited there for the 3 s
   * request timeout before its next try (RaftCommandLogTest's write on a follower: 3.1 s after
   * the new leader's election, 1.0-1.4 s with this).
   */
  private final ExecutorService batchSender = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "hive-raft-send");
    t.setDaemon(true);
    return t;
  });
  private final java.util.concurrent.ScheduledExecutorService lagWatch = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "hive-raft-lag");
    t.setDaemon(true);
    return t;
  });
  /**
   * Set when a request on the client failed without an answer: Ratis' ordered async client
   * closes its sliding window for good after one request exhausts its retries, and every later
   * request on it fails at once ("SlidingWindow$Client is closed"), so the next one gets a new client.
   */
  private volatile boolean clientBroken;
  private final PendingRequests pending = new PendingRequests(Clock.systemUTC());
  private final Clock clock = Clock.systemUTC();

  /** Where a peer's Raft server listens. */
  public record Peer(String id, String address, boolean voter) {}

  private RaftCommandLog(String nodeId, RaftGroupId groupId, RaftProperties properties, Parameters parameters, RaftServer server,
      HiveStateMachine stateMachine, Duration writeTimeout) {
    stateMachine.onShutdownByGroup(this::scheduleRejoin);
    this.nodeId = nodeId;
    this.groupId = groupId;
    this.properties = properties;
    this.parameters = parameters;
    this.server = server;
    this.stateMachine = stateMachine;
    this.writeTimeout = writeTimeout;
    lagWatch.scheduleWithFixedDelay(this::sampleLeaderIndex, 1, 1, TimeUnit.SECONDS);
    lagWatch.scheduleWithFixedDelay(this::reconnectSilentFollowers, 1, 1, TimeUnit.SECONDS);
    lagWatch.scheduleWithFixedDelay(this::reattachAbandonedListeners, 1, 1, TimeUnit.SECONDS);
  }

  private void scheduleRejoin() {
    if (!closed && rejoining.compareAndSet(false, true)) {
      try {
        rejoiner.execute(this::rejoin);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        rejoining.set(false);
      }
    }
  }

  /**
   * Starts this node's Raft server again on its own storage: the group shut the old one down
   * because it no longer has this node as a voter (demoted or dropped while the node was cut off
   * or down; its first election after the heal got it told to shut down, and Ratis closed it for
   * good). Its log is kept. It once started again on empty storage instead, and a node that
   * replays the group's log from the beginning holds, on its way, every configuration the group
   * ever had: the founder, the only voter of the first entries, elected itself alone while cut
   * off from the leader after its first batch, and both sides committed writes (a consistency
   * checker run in CI; RaftRestartTest.aFounderRejoiningOnEmptyStorageNeverLeadsAGroupOfItsOwn). Raft is safe for a follower that trails the
   * leader, not for one that forgot what it had acknowledged.
   *
   * <p>Its first election waits {@link #REJOIN_FIRST_ELECTION}: long enough for the leader to reach
   * it (or, if the group dropped it, to add it back: ClusterNode's maintenance) before it
   * campaigns with its old configuration and is told to shut down again. Until it has caught up
   * with the state the old server had, reads (and the reconciler) see that older state.
   */
  private void rejoin() {
    try {
      if (closed) {
        return;
      }
      HiveStateMachine old = stateMachine;
      frozenState = old.state();
      log.warn("the consensus group shut this node's server down (it is no longer a voter); starting it again on its storage"
          + " until the leader takes it back");
      try {
        server.close();
      } catch (IOException e) {
        log.debug("closing the shut-down server: {}", e.getMessage());
      }
      RaftProperties patient = new RaftProperties(properties);
      RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(patient, TimeDuration.valueOf(REJOIN_FIRST_ELECTION.toMillis(), TimeUnit.MILLISECONDS));
      RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(patient,
          TimeDuration.valueOf(REJOIN_FIRST_ELECTION.toMillis() * 3 / 2, TimeUnit.MILLISECONDS));
      HiveStateMachine next = new HiveStateMachine(clock);
      old.handListenersTo(next);
      next.onShutdownByGroup(this::scheduleRejoin);
      RaftServer again = RaftServer.newBuilder().setServerId(RaftPeerId.valueOf(nodeId)).setStateMachine(next).setProperties(patient)
          .setParameters(parameters).setOption(RaftStorage.StartupOption.RECOVER).build();
      again.start();
      stateMachine = next;
      server = again;
      clientBroken = true;
      rejoins.incrementAndGet();
      log.info("consensus server started again on its storage; waiting for the leader");
    } catch (IOException | RuntimeException e) {
      log.error("cannot start the consensus server again: {}; restart this node", e.getMessage(), e);
    } finally {
      rejoining.set(false);
    }
  }

  /** How long a server started again after the group shut it down waits before its first election. */
  static final Duration REJOIN_FIRST_ELECTION = Duration.ofSeconds(10);

  /** How many times this node's server was started again after the group shut it down ({@link #rejoin}). */
  int rejoins() {
    return rejoins.get();
  }

  /** A follower that has not answered the leader for this long gets a new connection. */
  static final Duration SILENCE_LIMIT = Duration.ofSeconds(5);
  /** Closing a gRPC channel waits up to 5 s for it: never on the watch thread. */
  private final ExecutorService channelCloser = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "hive-raft-reconnect");
    t.setDaemon(true);
    return t;
  });
  private final Map<RaftPeerId, Long> lastReconnect = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * On the leader: gives a follower that has not answered for {@link #SILENCE_LIMIT} a new
   * connection. Ratis never replaces a gRPC connection that died silently (a partition that
   * drops packets, a link down): its channel has no keepalive, and its log appender resets the
   * stream only on an error or a close, which a silent connection never gives, so the leader
   * wrote into the old connection until TCP retransmitted on it, up to two minutes after the
   * heal, or never (RaftPartitionHealTest measures it). Resetting the peer's proxy closes that
   * channel; the appender's next try opens a new one.
   */
  private void reconnectSilentFollowers() {
    try {
      org.apache.ratis.proto.RaftProtos.RoleInfoProto role = division().getInfo().getRoleInfoProto();
      if (!role.hasLeaderInfo()) {
        return;
      }
      long now = System.nanoTime();
      for (org.apache.ratis.proto.RaftProtos.ServerRpcProto follower : role.getLeaderInfo().getFollowerInfoList()) {
        RaftPeerId id = RaftPeerId.valueOf(follower.getId().getId());
        Long last = lastReconnect.get(id);
        if (follower.getLastRpcElapsedTimeMs() > SILENCE_LIMIT.toMillis() && (last == null || now - last > SILENCE_LIMIT.toNanos())) {
          lastReconnect.put(id, now);
          log.info("no answer from {} for {} ms: opening a new connection to it", id, follower.getLastRpcElapsedTimeMs());
          channelCloser.execute(() -> server.getServerRpc().handleException(id, new IOException("no answer for " + SILENCE_LIMIT), true));
        }
      }
    } catch (RuntimeException e) {
      log.debug("reconnect check: {}", e.getMessage());
    }
  }

  /** How long a listener may go without a log appender on the leader before it is taken out and added back. */
  static final Duration ABANDONED_LIMIT = Duration.ofSeconds(3);
  private final Map<String, Long> abandonedSince = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * On the leader: takes out and adds back a listener the leader sends nothing to. Ratis 3.3.0
   * (and its master) marks a peer caught up after a configuration change only if it is a voter
   * ({@code containsInConf} checks the voters), so a listener stays "bootstrapping" for good; when
   * a later change fails its staging (a new peer that does not answer in time), the leader stops
   * the log appender of every peer not caught up -- every listener -- and never starts them
   * again: their state stopped following the log (the formation runs' nodes stuck at a few
   * members). A peer has an appender again only by coming back into the configuration.
   */
  private void reattachAbandonedListeners() {
    try {
      org.apache.ratis.proto.RaftProtos.RoleInfoProto role = division().getInfo().getRoleInfoProto();
      RaftConfiguration conf = division().getRaftConf();
      if (!role.hasLeaderInfo() || !conf.getPreviousPeers(RaftPeerRole.LISTENER).isEmpty() || !conf.getPreviousPeers().isEmpty()) {
        abandonedSince.clear();
        return;
      }
      Set<String> sentTo = new java.util.HashSet<>();
      role.getLeaderInfo().getFollowerInfoList().forEach(f -> sentTo.add(f.getId().getId().toStringUtf8()));
      long now = clock.millis();
      List<Peer> abandoned = new ArrayList<>();
      Set<String> listeners = new java.util.HashSet<>();
      for (RaftPeer listener : conf.getCurrentPeers(RaftPeerRole.LISTENER)) {
        String id = listener.getId().toString();
        listeners.add(id);
        if (sentTo.contains(id)) {
          abandonedSince.remove(id);
        } else if (now - abandonedSince.computeIfAbsent(id, x -> now) >= ABANDONED_LIMIT.toMillis()) {
          abandoned.add(new Peer(id, listener.getAddress(), false));
        }
      }
      abandonedSince.keySet().retainAll(listeners);
      if (abandoned.isEmpty()) {
        return;
      }
      log.warn("the leader sends nothing to {} any more (Ratis stopped their log appenders when a configuration change failed): taking them out"
          + " of the group and adding them back", abandoned.stream().map(Peer::id).toList());
      Set<String> ids = new java.util.HashSet<>(abandoned.stream().map(Peer::id).toList());
      List<Peer> current = configuration();
      compareAndSet(current, current.stream().filter(p -> !ids.contains(p.id())).toList());
      abandoned.forEach(p -> {
        abandonedSince.remove(p.id());
        requestAdd(p.id(), p.address());
      });
    } catch (RuntimeException e) {
      log.debug("abandoned listener check: {}", e.getMessage());
    }
  }

  /** The group id of a cluster: stable, derived from its name. */
  public static RaftGroupId groupIdOf(String clusterName) {
    return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("hive-cluster:" + clusterName).getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * Starts this node's Raft server.
   *
   * @param dir the Raft storage directory ({@code <data-dir>/raft})
   * @param bind the address the consensus port listens on: the one the cluster port binds
   *     ({@code 0.0.0.0} for all)
   * @param address this node's Raft address as the other nodes reach it, {@code host:port}; the
   *     port is the one listened on
   * @param initialPeers the group to start with when the storage is new: just this node for a new
   *     cluster, or the current configuration plus this node for a joiner; ignored on restart
   * @param pki this node's certificates for mutual TLS, or null for plaintext (tests only)
   */
  public static RaftCommandLog start(
      String clusterName, String nodeId, Path dir, String bind, String address, List<Peer> initialPeers, ClusterPki pki, Timing timing) {
    RaftGroupId groupId = groupIdOf(clusterName);
    RaftProperties p = new RaftProperties();
    RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
    RaftServerConfigKeys.setStorageDir(p, List.of(dir.toFile()));
    // Without a host Ratis listens on every address: a node started with --bind 127.0.0.1 would
    // still take Raft traffic from the network. The address announced may be another (--advertise).
    GrpcConfigKeys.Server.setHost(p, bind);
    GrpcConfigKeys.Server.setPort(p, Integer.parseInt(address.substring(address.lastIndexOf(':') + 1)));
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(timing.electionMin().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(timing.electionMax().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(timing.electionMin().toMillis() / 2, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(timing.electionMax().toMillis() / 2, TimeUnit.MILLISECONDS));
    // Reads that must be current ask the leader for its read index, which it confirms with a round of heartbeats.
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    // A snapshot holds the state and every request outcome kept (up to 50,000): taken every
    // 1,024 entries, encoding it was the largest cost of a busy leader. etcd's default was 10,000.
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, SNAPSHOT_EVERY);
    // One snapshot is taken at every stop and every SNAPSHOT_EVERY entries: keep the last two, not all.
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
    // How long the leader's appender to a follower sleeps after its n-th consecutive error (random
    // 0.5x-1.5x). Ratis' default, "1ms,10, 1s,20, 5s,1000", sleeps up to 7.5 s once a follower has
    // been unreachable for ~20 s, and again after the first reply once it is back (a log mismatch
    // counts as an error): 10-15 s to catch up after a partition. Past its 1030th error it stops
    // sleeping at all. This one retries every 0.25-0.75 s, for ever (the count is per tier).
    RaftServerConfigKeys.Log.Appender.setRetryPolicy(p, "1ms,10, 100ms,20, 500ms,2000000000");
    // Off: with Ratis' "compose" appends (3.3.0's default) a follower takes a second appendEntries
    // whose first index is that of one still being written for the same entries, drops it whole
    // and answers success up to its last entry: when a leader resends a longer batch from the same
    // index (after a reconnect or a retry), the follower acknowledges entries it never wrote. The
    // leader's match index for it is then past its log: the leader counts it towards commits, and
    // its heartbeats fail with INCONSISTENCY for ever, since Ratis never takes the next index below
    // the match index (a 5-node checker run: one node stuck 3 minutes after the heal).
    // RaftOverlappingAppendsTest shows both.
    RaftServerConfigKeys.Log.setAppendEntriesComposeEnabled(p, false);
    // Ratis' log-metadata entries (the commit index, written after commits) stay on although
    // turning them off made one writer about 1.6 times faster: they are how a server restarted
    // after a SIGKILL knows how far its own log is committed, and applies it before any leader
    // answers (snapshots come only every SNAPSHOT_EVERY entries and at clean stops).
    Parameters parameters = new Parameters();
    if (pki != null) {
      GrpcConfigKeys.TLS.setConf(parameters, tls(pki));
    }
    HiveStateMachine sm = new HiveStateMachine(Clock.systemUTC());
    boolean existing = Files.isDirectory(dir.resolve(groupId.getUuid().toString()));
    try {
      Files.createDirectories(dir);
      RaftServer.Builder b = RaftServer.newBuilder()
          .setServerId(RaftPeerId.valueOf(nodeId))
          .setStateMachine(sm)
          .setProperties(p)
          .setParameters(parameters);
      if (existing) {
        b.setOption(RaftStorage.StartupOption.RECOVER);
      } else {
        b.setGroup(RaftGroup.valueOf(groupId, toRaftPeers(initialPeers))).setOption(RaftStorage.StartupOption.FORMAT);
      }
      RaftServer server = b.build();
      server.start();
      if (existing && !server.getGroupIds().iterator().hasNext()) {
        throw new HiveException("the Raft storage " + dir + " holds no group; it may be corrupted -- move it away and join again with the token");
      }
      return new RaftCommandLog(nodeId, groupId, p, parameters, server, sm, timing.writeTimeout());
    } catch (IOException e) {
      throw new HiveException("cannot start the consensus server on " + bind + " at " + address + " with storage " + dir + ": " + e.getMessage()
          + "; if the storage is corrupted, move it away and join the cluster again", e);
    }
  }

  /**
   * Mutual TLS 1.3 on the cluster's certificates, as on the cluster port. Ratis builds from this
   * one config both the server's SslContext and the one of its channels to peers (and of the
   * client that forwards writes), so neither side offers or accepts TLS 1.2; left unset, Ratis
   * allows whatever the TLS library does, TLS 1.2 included.
   */
  static GrpcTlsConfig tls(ClusterPki pki) {
    return GrpcTlsConfig.newBuilder()
        .setKeyManager(TlsContexts.memberKeys(pki))
        .setTrustManager(TlsContexts.memberTrust(pki))
        .setMutualTls(true)
        .setProtocols("TLSv1.3")
        .build();
  }

  /** Election and write timeouts; {@link #DEFAULTS} elect a new leader about a second after the old one stops. */
  public record Timing(Duration electionMin, Duration electionMax, Duration writeTimeout) {
    public static final Timing DEFAULTS = new Timing(Duration.ofMillis(700), Duration.ofMillis(1400), Duration.ofSeconds(10));
  }

  private static List<RaftPeer> toRaftPeers(List<Peer> peers) {
    List<RaftPeer> result = new ArrayList<>();
    for (Peer peer : peers) {
      result.add(RaftPeer.newBuilder().setId(peer.id()).setAddress(peer.address())
          .setStartupRole(peer.voter() ? RaftPeerRole.FOLLOWER : RaftPeerRole.LISTENER).build());
    }
    return result;
  }

  RaftServer.Division division() {
    try {
      return server.getDivision(groupId);
    } catch (IOException e) {
      throw new UnavailableException("the consensus group is not running here: " + e.getMessage(), e);
    }
  }

  /** Returns the group's current configuration: voters then listeners. */
  public List<Peer> configuration() {
    RaftConfiguration conf = division().getRaftConf();
    List<Peer> peers = new ArrayList<>();
    conf.getCurrentPeers(RaftPeerRole.FOLLOWER).forEach(p -> peers.add(new Peer(p.getId().toString(), p.getAddress(), true)));
    conf.getCurrentPeers(RaftPeerRole.LISTENER).forEach(p -> peers.add(new Peer(p.getId().toString(), p.getAddress(), false)));
    peers.sort(Comparator.comparing(Peer::voter).reversed().thenComparing(Peer::id));
    return peers;
  }

  /** Returns each configured node's role, by id. */
  public Map<String, NodeRole> roles() {
    Map<String, NodeRole> roles = new LinkedHashMap<>();
    RaftPeerId leader = division().getInfo().getLeaderId();
    for (Peer p : configuration()) {
      roles.put(p.id(), leader != null && leader.toString().equals(p.id()) ? NodeRole.LEADER : p.voter() ? NodeRole.SERVER : NodeRole.CLIENT);
    }
    return roles;
  }

  /** Returns the index of the last log entry this node has applied. */
  public long appliedIndex() {
    return division().getInfo().getLastAppliedIndex();
  }

  /** Returns true when this node leads the group. */
  public boolean isLeader() {
    return division().getInfo().isLeader();
  }

  /**
   * On the leader: the other peers that answered its appends within {@code within}; on any other
   * node, none. Membership may hold a busy node dead while it still answers the log, and a server
   * is lost only when the log no longer reaches it either.
   */
  public Set<String> answeredWithin(Duration within) {
    Set<String> answered = new java.util.HashSet<>();
    org.apache.ratis.proto.RaftProtos.RoleInfoProto role = division().getInfo().getRoleInfoProto();
    if (role.hasLeaderInfo()) {
      for (org.apache.ratis.proto.RaftProtos.ServerRpcProto follower : role.getLeaderInfo().getFollowerInfoList()) {
        if (follower.getLastRpcElapsedTimeMs() <= within.toMillis()) {
          answered.add(follower.getId().getId().toStringUtf8());
        }
      }
    }
    return answered;
  }

  /** Returns the leader's id, if one is known. */
  public String leaderId() {
    RaftPeerId leader = division().getInfo().getLeaderId();
    return leader == null ? null : leader.toString();
  }

  /**
   * Adds a node to the group as a listener: it catches up without voting, and never campaigns
   * (a voter that campaigns before the leader knows it is told to shut down). The leader promotes
   * it to voter while the group has fewer than its target of servers. Goes to the leader from any node.
   *
   * @throws UnavailableException when the group does not take the node within 25 s (or the write
   *     timeout, when longer)
   */
  public void addPeer(String id, String address) {
    try {
      requestAdd(id, address).get(joinPatience().toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new UnavailableException("cannot add " + id + " to the consensus group: timed out");
    } catch (ExecutionException e) {
      throw new UnavailableException("cannot add " + id + " to the consensus group: " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnavailableException("interrupted while adding " + id + " to the consensus group", e);
    }
  }

  /**
   * Queues a node to be added as a listener and returns at once; the future completes when the
   * group has taken it, or fails after 25 s. Asking again for a node already queued returns the
   * same future.
   *
   * <p>Nodes joining at once are added together: Raft changes its configuration one change at a
   * time, so fifty joiners each racing their own compare-and-set mostly lose and time out. One
   * thread applies the adds waiting, up to {@value #MAX_ADDS_PER_CHANGE} a change, so that a caller
   * (a transport handler) is never held for the seconds a change takes.
   */
  public CompletableFuture<Void> requestAdd(String id, String address) {
    PendingAdd mine;
    synchronized (pendingAdds) {
      for (PendingAdd queued : pendingAdds) {
        if (queued.peer().id().equals(id) && queued.peer().address().equals(address)) {
          return queued.done();
        }
      }
      mine = new PendingAdd(new Peer(id, address, false), new CompletableFuture<>(), System.nanoTime() + joinPatience().toNanos());
      pendingAdds.add(mine);
    }
    addApplier.execute(this::applyPendingAdds);
    return mine.done();
  }

  /**
   * Returns true once this node holds a configuration that came from the group's log and lists
   * it: a joiner starts with a configuration it made itself, which does not count.
   */
  public boolean admitted() {
    RaftConfiguration conf = division().getRaftConf();
    return conf.getLogEntryIndex() >= 0 && conf.getPeer(RaftPeerId.valueOf(nodeId), RaftPeerRole.FOLLOWER, RaftPeerRole.LISTENER) != null;
  }

  /** A join waits longer than a write: when many nodes start at once, the leader brings each batch of listeners up to date first. */
  private Duration joinPatience() {
    return writeTimeout.compareTo(JOIN_PATIENCE) > 0 ? writeTimeout : JOIN_PATIENCE;
  }

  private record PendingAdd(Peer peer, CompletableFuture<Void> done, long deadlineNanos) {}

  /** Adds the nodes waiting, a batch a compare-and-set change, retried while another change is under way. */
  private void applyPendingAdds() {
    String last = "timed out";
    while (!pendingAdds.isEmpty()) {
      List<PendingAdd> batch = new ArrayList<>();
      long now = System.nanoTime();
      synchronized (pendingAdds) {
        for (Iterator<PendingAdd> it = pendingAdds.iterator(); it.hasNext(); ) {
          PendingAdd add = it.next();
          if (now - add.deadlineNanos() > 0) {
            it.remove();
            add.done().completeExceptionally(new UnavailableException(last));
          } else if (batch.size() < MAX_ADDS_PER_CHANGE) {
            batch.add(add);
          }
        }
      }
      if (batch.isEmpty()) {
        return;
      }
      List<Peer> conf;
      try {
        conf = configuration();
      } catch (UnavailableException e) {
        // Closed meanwhile: nothing waiting can be added any more.
        failAll(e.getMessage());
        return;
      }
      List<Peer> next = new ArrayList<>(conf);
      for (PendingAdd add : batch) {
        if (next.stream().noneMatch(p -> p.id().equals(add.peer().id()))) {
          next.add(add.peer());
        }
      }
      if (next.size() == conf.size()) {
        finish(batch, null);
        continue;
      }
      // Compare-and-set on the configuration read just now: a change by another node is not undone.
      List<RaftPeer> curVoters = new ArrayList<>();
      List<RaftPeer> curListeners = new ArrayList<>();
      split(conf, curVoters, curListeners);
      List<RaftPeer> newVoters = new ArrayList<>();
      List<RaftPeer> newListeners = new ArrayList<>();
      split(next, newVoters, newListeners);
      try {
        RaftClientReply reply = client().admin().setConfiguration(SetConfigurationRequest.Arguments.newBuilder()
            .setServersInCurrentConf(curVoters).setListenersInCurrentConf(curListeners)
            .setServersInNewConf(newVoters).setListenersInNewConf(newListeners)
            .setMode(SetConfigurationRequest.Mode.COMPARE_AND_SET).build());
        if (reply.isSuccess()) {
          finish(batch, null);
          continue;
        }
        last = reply.getException() == null ? "refused" : reply.getException().getMessage();
      } catch (IOException | RuntimeException e) {
        last = String.valueOf(e.getMessage());
      }
      log.debug("adding {} nodes to the consensus group failed, trying again: {}", batch.size(), last);
      try {
        Thread.sleep(100 + ThreadLocalRandom.current().nextInt(200));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failAll("interrupted");
        return;
      }
    }
  }

  private void finish(List<PendingAdd> batch, String failure) {
    synchronized (pendingAdds) {
      pendingAdds.removeAll(batch);
    }
    batch.forEach(a -> {
      if (failure == null) {
        a.done().complete(null);
      } else {
        a.done().completeExceptionally(new UnavailableException(failure));
      }
    });
  }

  private void failAll(String why) {
    List<PendingAdd> all;
    synchronized (pendingAdds) {
      all = new ArrayList<>(pendingAdds);
    }
    finish(all, why);
  }

  private static void split(List<Peer> peers, List<RaftPeer> voters, List<RaftPeer> listeners) {
    for (RaftPeer p : toRaftPeers(peers)) {
      (p.getStartupRole() == RaftPeerRole.LISTENER ? listeners : voters).add(p);
    }
  }

  /**
   * Sets the voters and listeners (leader only): used to replace dead voters by live members.
   * A peer that changes role (listener to voter or back) leaves the group in one change and comes
   * back with its new role in the next: Ratis 3.3.0 builds a new leader's senders from both halves
   * of a joint configuration and finds such a peer twice, so a leader elected before the change
   * committed threw in its constructor and stayed "not ready" for good, and the group took no write
   * again (checker runs; RaftRestartTest.aGroupWhoseLeaderDiesWhilePromotingAListenerStillTakesWrites).
   *
   * @throws UnavailableException when the group does not take a change within the write timeout
   */
  public void setConfiguration(List<Peer> expected, List<Peer> peers) {
    Set<String> changingRole = new java.util.HashSet<>();
    for (Peer before : expected) {
      for (Peer after : peers) {
        if (before.id().equals(after.id()) && before.voter() != after.voter()) {
          changingRole.add(after.id());
        }
      }
    }
    if (changingRole.isEmpty()) {
      compareAndSet(expected, peers);
      return;
    }
    List<Peer> without = peers.stream().filter(p -> !changingRole.contains(p.id())).toList();
    compareAndSet(expected, without);
    List<Peer> promoted = peers.stream().filter(p -> changingRole.contains(p.id()) && p.voter()).toList();
    if (!promoted.isEmpty()) {
      List<Peer> withPromoted = new ArrayList<>(without);
      withPromoted.addAll(promoted);
      compareAndSet(without, withPromoted);
    }
    // A demoted voter is usually one that does not answer: it comes back as a listener when the
    // leader can reach it, in the background (a joiner's way in), without holding this change.
    peers.stream().filter(p -> changingRole.contains(p.id()) && !p.voter()).forEach(p -> requestAdd(p.id(), p.address()));
  }

  /** One configuration change, if the group's configuration is still {@code expected}: a join that lands meanwhile is not undone. */
  private void compareAndSet(List<Peer> expected, List<Peer> peers) {
    List<RaftPeer> curVoters = new ArrayList<>();
    List<RaftPeer> curListeners = new ArrayList<>();
    split(expected, curVoters, curListeners);
    List<RaftPeer> voters = new ArrayList<>();
    List<RaftPeer> listeners = new ArrayList<>();
    split(peers, voters, listeners);
    reconfigure(SetConfigurationRequest.Arguments.newBuilder().setServersInCurrentConf(curVoters).setListenersInCurrentConf(curListeners)
        .setServersInNewConf(voters).setListenersInNewConf(listeners)
        .setMode(SetConfigurationRequest.Mode.COMPARE_AND_SET).build(), "set " + peers);
  }

  private void reconfigure(SetConfigurationRequest.Arguments args, String what) {
    long deadline = System.nanoTime() + writeTimeout.toNanos();
    IOException last = null;
    while (System.nanoTime() < deadline) {
      try {
        RaftClientReply reply = client().admin().setConfiguration(args);
        if (reply.isSuccess()) {
          return;
        }
        last = reply.getException() == null ? new IOException("refused") : reply.getException();
      } catch (IOException e) {
        last = e;
      }
      if (last instanceof org.apache.ratis.protocol.exceptions.SetConfigurationException) {
        // A compare-and-set against a configuration that has changed meanwhile: asking again
        // cannot succeed, and used to hold the caller for the whole write timeout.
        throw new UnavailableException("cannot " + what + " in the consensus group: its configuration changed meanwhile; read it again and retry", last);
      }
      // Another reconfiguration may be in progress: Raft allows one at a time.
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new UnavailableException("cannot " + what + " in the consensus group: " + (last == null ? "timed out" : last.getMessage()), last);
  }

  private synchronized RaftClient client() {
    Collection<RaftPeer> peers = division().getRaftConf().getCurrentPeers();
    Set<RaftPeerId> ids = new java.util.HashSet<>();
    peers.forEach(p -> ids.add(p.getId()));
    if (client == null || !ids.equals(clientPeers) || clientBroken) {
      clientBroken = false;
      retireLater(client);
      retireLater(readClient);
      // Bounded retries: a write that cannot reach a leader must fail, not hang (a minority partition).
      int attempts = (int) Math.max(1, writeTimeout.toMillis() / RETRY_SLEEP.toMillis());
      RetryPolicy retries = RetryPolicies.retryUpToMaximumCountWithFixedSleep(attempts, TimeDuration.valueOf(RETRY_SLEEP.toMillis(), TimeUnit.MILLISECONDS));
      client = RaftClient.newBuilder().setProperties(properties).setParameters(parameters).setRetryPolicy(retries)
          .setRaftGroup(RaftGroup.valueOf(groupId, peers)).setClientId(ClientId.randomId()).build();
      readClient = RaftClient.newBuilder().setProperties(properties).setParameters(parameters).setRetryPolicy(retries)
          .setRaftGroup(RaftGroup.valueOf(groupId, peers)).setClientId(ClientId.randomId()).build();
      clientPeers = ids;
    }
    return client;
  }

  private synchronized RaftClient readClient() {
    client();
    return readClient;
  }

  /**
   * Closes a replaced client later, not now: a write in flight on it (its retries end within the
   * write timeout) would otherwise fail as "closed" while voters are added during a formation.
   */
  private void retireLater(RaftClient retired) {
    if (retired == null) {
      return;
    }
    CompletableFuture.runAsync(() -> {
      try {
        retired.close();
      } catch (IOException e) {
        log.debug("closing the old Raft client: {}", e.getMessage());
      }
    }, CompletableFuture.delayedExecutor(2 * writeTimeout.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Override
  public ClusterState state() {
    ClusterState live = stateMachine.state();
    ClusterState frozen = frozenState;
    if (frozen == null) {
      return live;
    }
    if (live.index() >= frozen.index()) {
      frozenState = null;
      return live;
    }
    return frozen;
  }

  @Override
  public ClusterState submit(Command command, String requestId) {
    String id = requestId == null ? UUID.randomUUID().toString() : requestId;
    // Refuse at once what this node's state already refuses: the common case needs no round
    // trip. Not a caller's id: it may be a retry of a write this node has not applied yet, and
    // only the log can tell (a retry of a deploy that applied must not be a conflict).
    if (requestId == null) {
      dev.hive.core.state.StateMachine.apply(stateMachine.state(), command);
    }
    long deadline = clock.millis() + writeTimeout.toMillis();
    pending.add(id, deadline);
    Decision decision = send(new Request(id, deadline, 0, codec.digest(command), command), deadline);
    awaitApplied(id, decision.index(), deadline);
    if (decision.refusal() != null) {
      throw Refusals.decode(decision.refusal());
    }
    return stateMachine.state();
  }

  /** Where the log decided a request, and the refusal text when it was refused there. */
  private record Decision(long index, String refusal) {}

  /** Most requests in one log entry. */
  static final int MAX_BATCH = 256;
  /**
   * Most batches on their way to the leader at once. A request that finds one out waits for the
   * next batch: under load, many writers share one entry, one message and one fsync per server,
   * instead of one each; a lone writer never waits. One, not more: with 64 writers on three voters
   * (CommitThroughputHarness, warmed up), one batch in flight made 5,895 commands/s, p99 31.6 ms;
   * two 5,082/s, p99 35.8 ms; four 3,760/s, p99 54.5 ms: smaller batches cost more entries.
   */
  static final int MAX_BATCHES_IN_FLIGHT = 1;

  private record Queued(Request request, CompletableFuture<Decision> decision) {}

  /** Requests waiting for a batch; guarded by itself, as is {@link #batchesInFlight}. */
  private final java.util.ArrayDeque<Queued> unsent = new java.util.ArrayDeque<>();
  private int batchesInFlight;

  /**
   * Sends a request to the leader, in a batch with the other requests waiting on this node,
   * waits until {@code waitUntil} (epoch ms), and returns where the log decided it.
   *
   * @throws HiveException the refusal, when the leader refused it before it reached the log
   * @throws OutcomeUnknownException when no answer came before its deadline
   */
  private Decision send(Request request, long waitUntil) {
    CompletableFuture<Decision> decision = enqueue(request);
    long wait = Math.max(1, waitUntil - clock.millis());
    try {
      // Bounded by the deadline whatever the client's retries do: a node cut off from the
      // majority must answer its caller, not keep it waiting on connection timeouts. A retry
      // that reaches a leader later is refused there: its deadline has passed.
      return decision.get(wait, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      clientBroken = true;
      OutcomeUnknownException unknown = unknown(request.id(), "no leader answered within " + writeTimeout.toSeconds() + " s (a node cut off"
          + " from the majority cannot change the desired state)");
      // Still queued: it is not sent any more.
      decision.completeExceptionally(unknown);
      throw unknown;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unknown(request.id(), "interrupted while waiting for the cluster to accept it");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof HiveException refusalOrUnknown) {
        throw refusalOrUnknown;
      }
      throw unknown(request.id(), "the cluster did not take it: " + e.getCause());
    }
  }

  private CompletableFuture<Decision> enqueue(Request request) {
    CompletableFuture<Decision> decision = new CompletableFuture<>();
    synchronized (unsent) {
      unsent.add(new Queued(request, decision));
    }
    dispatch();
    return decision;
  }

  /**
   * Appends a command as {@link #submit} does, without blocking a thread: completes with the log
   * index it was decided at once this node has applied it; or exceptionally with its refusal, or
   * with {@link OutcomeUnknownException} when no answer came by its deadline. For the writes of
   * clients, which a server's transport threads must not wait on.
   */
  public CompletableFuture<Long> submitAsync(Command command, String requestId, long deadlineMillis) {
    // The caller's deadline, never later than this server's own would be.
    long deadline = Math.min(deadlineMillis, clock.millis() + writeTimeout.toMillis());
    pending.add(requestId, deadline);
    CompletableFuture<Decision> decision = enqueue(new Request(requestId, deadline, 0, codec.digest(command), command));
    CompletableFuture<Long> result = new CompletableFuture<>();
    // orTimeout completes the queued decision itself: dispatch() then skips it, as send() does.
    decision.orTimeout(Math.max(1000, deadline - clock.millis()), TimeUnit.MILLISECONDS).whenComplete((d, error) -> {
      if (error != null) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof TimeoutException) {
          clientBroken = true;
          result.completeExceptionally(unknown(requestId, "no leader answered within " + writeTimeout.toSeconds() + " s (a server cut off from the"
              + " majority cannot change the desired state)"));
        } else {
          result.completeExceptionally(cause instanceof HiveException h ? h : unknown(requestId, "the cluster did not take it: " + cause));
        }
        return;
      }
      long wait = Math.max(1000, deadline - clock.millis());
      stateMachine.whenApplied(d.index()).orTimeout(wait, TimeUnit.MILLISECONDS).whenComplete((applied, notYet) -> {
        if (notYet != null) {
          result.completeExceptionally(new OutcomeUnknownException(requestId, "request " + requestId + " was decided at log index " + d.index()
              + ", but the server has not applied it yet; ask `hive command status " + requestId + "`"));
        } else if (d.refusal() != null) {
          result.completeExceptionally(Refusals.decode(d.refusal()));
        } else {
          result.complete(d.index());
        }
      });
    });
    return result;
  }

  /**
   * Completes with the leader's read index once this node has applied it: a client that then
   * applies up to it reads every write committed before the call.
   */
  public CompletableFuture<Long> readIndexAsync() {
    CompletableFuture<Long> result = new CompletableFuture<>();
    askReadIndex().orTimeout(writeTimeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((reply, error) -> {
      if (error != null || !reply.isSuccess()) {
        result.completeExceptionally(new UnavailableException("cannot read the current state: no leader confirmed its commit index within "
            + writeTimeout.toSeconds() + " s"));
        return;
      }
      long readIndex = Long.parseLong(reply.getMessage().getContent().toStringUtf8());
      stateMachine.whenApplied(readIndex).orTimeout(writeTimeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((applied, notYet) -> {
        if (notYet != null) {
          result.completeExceptionally(new UnavailableException("cannot read the current state: the server has applied up to " + appliedIndex()
              + " of the leader's " + readIndex + "; it is catching up"));
        } else {
          result.complete(readIndex);
        }
      });
    });
    return result;
  }

  /** Tells {@code listener} this node's state and index now, then every entry it applies, in order. */
  public void follow(CommittedChanges listener) {
    stateMachine.follow(listener);
  }

  /** Sends what waits, as batches, while fewer than {@link #MAX_BATCHES_IN_FLIGHT} are out. */
  private void dispatch() {
    while (true) {
      List<Queued> batch = new ArrayList<>();
      synchronized (unsent) {
        if (batchesInFlight >= MAX_BATCHES_IN_FLIGHT) {
          return;
        }
        while (!unsent.isEmpty() && batch.size() < MAX_BATCH) {
          Queued q = unsent.poll();
          if (!q.decision().isDone()) {
            batch.add(q);
          }
        }
        if (batch.isEmpty()) {
          return;
        }
        batchesInFlight++;
      }
      CompletableFuture<RaftClientReply> reply;
      try {
        Message message = Message.valueOf(ByteString.copyFrom(codec.encodeRequests(batch.stream().map(Queued::request).toList())));
        RaftClient sending = client();
        reply = CompletableFuture.supplyAsync(() -> {
          try {
            return sending.io().send(message);
          } catch (IOException e) {
            throw new java.util.concurrent.CompletionException(e);
          }
        }, batchSender);
      } catch (RuntimeException e) {
        reply = CompletableFuture.failedFuture(e);
      }
      reply.whenComplete((answer, error) -> {
        synchronized (unsent) {
          batchesInFlight--;
        }
        decide(batch, answer, error);
        dispatch();
      });
    }
  }

  /** Completes each request of a batch with what the log decided for it, or with why nobody knows. */
  private void decide(List<Queued> batch, RaftClientReply reply, Throwable error) {
    String failure = null;
    if (error != null) {
      Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
      failure = String.valueOf(cause.getMessage());
    } else if (!reply.isSuccess()) {
      failure = reply.getException() == null ? "refused" : reply.getException().getMessage();
    }
    if (failure != null) {
      HiveException refusal = Refusals.decode(failure);
      if (refusal == null) {
        clientBroken = true;
      }
      for (Queued q : batch) {
        q.decision().completeExceptionally(refusal != null ? refusal : unknown(q.request().id(), "no leader reachable from this node (" + failure
            + "); a node cut off from the majority cannot change the desired state"));
      }
      return;
    }
    List<String> replies;
    try {
      replies = HiveStateMachine.replies(reply.getMessage().getContent().toStringUtf8(), batch.size());
    } catch (IllegalStateException e) {
      for (Queued q : batch) {
        q.decision().completeExceptionally(unknown(q.request().id(), e.getMessage()));
      }
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      String one = replies.get(i);
      int bar = one.indexOf('|');
      String outcome = one.substring(bar + 1);
      batch.get(i).decision().complete(new Decision(Long.parseLong(one.substring(0, bar)), outcome.equals(HiveStateMachine.OK) ? null : outcome));
    }
  }

  private static OutcomeUnknownException unknown(String id, String why) {
    return new OutcomeUnknownException(id, "the outcome of request " + id + " is unknown: " + why + "; it may still apply until its"
        + " deadline, never after; ask `hive command status " + id + "` (GET /api/v1/commands/" + id + ")");
  }

  /**
   * Waits until this node has applied {@code index}, so that its reads include the request.
   *
   * @throws OutcomeUnknownException when it has not by the deadline (or a second from now, for
   *     an answer that came just before it): the caller must not read a state without its write
   */
  private void awaitApplied(String id, long index, long deadline) {
    boolean applied;
    try {
      applied = awaitIndex(index, Math.max(deadline, clock.millis() + 1000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OutcomeUnknownException(id, "interrupted while waiting for request " + id + " to be applied here");
    }
    if (!applied) {
      throw new OutcomeUnknownException(id, "request " + id + " was decided at log index " + index + ", but this node has applied only up"
          + " to " + appliedIndex() + "; ask `hive command status " + id + "` (GET /api/v1/commands/" + id + ")");
    }
  }

  /**
   * Waits until this node has applied {@code index} or the clock passes {@code giveUp} (epoch
   * ms); returns whether it has.
   */
  private boolean awaitIndex(long index, long giveUp) throws InterruptedException {
    while (true) {
      // The state machine in use now: a rejoin replaces it, and the old one applies nothing more.
      CompletableFuture<Void> applied = stateMachine.whenApplied(index);
      long left = giveUp - clock.millis();
      if (applied.isDone()) {
        return true;
      }
      if (left <= 0) {
        return false;
      }
      try {
        applied.get(Math.min(left, 100), TimeUnit.MILLISECONDS);
        return true;
      } catch (TimeoutException | ExecutionException e) {
        // Looked at again with the state machine in use then.
      }
    }
  }

  /**
   * Asks the leader for its read index (its applied index once it has confirmed that it leads),
   * on the reads' own client: a read held for a dead leader once held the writes behind it, and
   * a write taken just after a leader died applied 6.4 s after the next one was elected.
   */
  private CompletableFuture<RaftClientReply> askReadIndex() {
    return readClient().async().sendReadOnlyUnordered(Message.valueOf("read-index"));
  }

  /** Learns the leader's applied index (a read index the leader confirms), without waiting for it. */
  private void sampleLeaderIndex() {
    long asked = clock.millis();
    try {
      configuration();
      if (division().getInfo().getLeaderId() == null) {
        // Cut off, or electing: "no leader known" already says so, and asking would only queue requests.
        return;
      }
      askReadIndex().orTimeout(LAG_LIMIT.toMillis(), TimeUnit.MILLISECONDS).thenAccept(reply -> {
        if (reply.isSuccess()) {
          long index = Long.parseLong(reply.getMessage().getContent().toStringUtf8());
          synchronized (leaderIndexes) {
            leaderIndexes.addLast(new long[] {asked, index});
            while (leaderIndexes.size() > 4 * LAG_LIMIT.toSeconds()) {
              leaderIndexes.removeFirst();
            }
          }
        }
      }).exceptionally(e -> null);
    } catch (RuntimeException e) {
      log.debug("cannot ask the leader for its index: {}", e.getMessage());
    }
  }

  /**
   * Returns "ok", or why this node does not follow the log: its applied index is below what the
   * leader had applied more than {@link #LAG_LIMIT} ago.
   */
  public String lag() {
    long now = clock.millis();
    long[] old = null;
    synchronized (leaderIndexes) {
      for (long[] sample : leaderIndexes) {
        if (now - sample[0] >= LAG_LIMIT.toMillis()) {
          old = sample;
        }
      }
    }
    long applied = division().getInfo().getLastAppliedIndex();
    if (old == null || applied >= old[1]) {
      return "ok";
    }
    return "not following the log: applied up to index " + applied + ", the leader had applied " + old[1] + " " + (now - old[0]) / 1000
        + " s ago";
  }

  @Override
  public ClusterState currentState() {
    long deadline = clock.millis() + writeTimeout.toMillis();
    RaftClientReply reply;
    try {
      reply = askReadIndex().get(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      throw new UnavailableException("cannot read the current state: no leader confirmed its commit index within " + writeTimeout.toSeconds()
          + " s (a node cut off from the majority can only read its own copy, without ?consistent=true)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnavailableException("interrupted while reading the current state", e);
    }
    if (!reply.isSuccess()) {
      throw new UnavailableException("cannot read the current state: " + reply.getException());
    }
    long readIndex = Long.parseLong(reply.getMessage().getContent().toStringUtf8());
    boolean caughtUp;
    try {
      caughtUp = awaitIndex(readIndex, deadline);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnavailableException("interrupted while reading the current state", e);
    }
    if (!caughtUp) {
      throw new UnavailableException("cannot read the current state: this node has applied up to " + appliedIndex()
          + " of the leader's " + readIndex + "; it is catching up");
    }
    return state();
  }

  /**
   * As {@link #status(String)}, for a write that a client took with the deadline
   * {@code deadlineWhereTaken} (0: none) and that may never have reached this server: it is
   * settled as if this server had taken it. A client cut off from every server told its caller
   * the outcome was unknown, and after the heal no server knew the request (PartitionIT).
   */
  public CommandStatus status(String requestId, long deadlineWhereTaken) {
    if (deadlineWhereTaken > 0) {
      pending.add(requestId, deadlineWhereTaken);
    }
    return status(requestId);
  }

  @Override
  public CommandStatus status(String requestId) {
    return pending.status(requestId, stateMachine::outcome, (id, deadline) -> {
      // Past its deadline: a settling entry decides it for good, whichever reaches the log first.
      Decision decision;
      try {
        // Carries the write's own deadline (the ledger compares with it), and waits a write timeout of its own.
        decision = send(new Request(id, deadline, 0, "", new Command.SettleRequest()), clock.millis() + writeTimeout.toMillis());
      } catch (OutcomeUnknownException e) {
        throw new UnavailableException("the outcome of request " + id + " cannot be settled now: no leader answered; try again", e);
      }
      awaitApplied(id, decision.index(), clock.millis() + writeTimeout.toMillis());
      return stateMachine.outcome(id).orElseThrow(() -> new UnavailableException("request " + id + " was settled at log index "
          + decision.index() + ", but its outcome is no longer kept"));
    });
  }

  @Override
  public void onApplied(Consumer<ClusterState> listener) {
    stateMachine.onApplied(listener);
  }

  @Override
  public void close() {
    closed = true;
    rejoiner.shutdownNow();
    lagWatch.shutdownNow();
    batchSender.shutdownNow();
    channelCloser.shutdownNow();
    addApplier.shutdownNow();
    failAll("this node's consensus server closed");
    try {
      if (client != null) {
        client.close();
        readClient.close();
      }
      server.close();
    } catch (IOException e) {
      log.warn("closing the consensus server: {}", e.getMessage());
    }
  }

  /** Returns this node's id. */
  public String nodeId() {
    return nodeId;
  }
}
