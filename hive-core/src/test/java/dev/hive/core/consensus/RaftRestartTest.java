package dev.hive.core.consensus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.hive.core.security.ClusterPki;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.StateMachineTest;
import java.io.IOException;
import java.lang.reflect.Field;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.CodeInjectionForTesting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes restarted on their Raft storage. Ratis takes a snapshot when a server stops (auto-trigger is
 * on), and a leader that has a snapshot installs it on every node it adds, before any log entry:
 * joining after a restart goes through InstallSnapshot on the joiner. Three or four Ratis servers in
 * this JVM on loopback, over gRPC with mutual TLS on the cluster CA; a restarted node listens on its
 * old address.
 *
 * <p>{@code -Dhive.test.ratisLog=info} shows Ratis' log.
 */
class RaftRestartTest {
  private static final String RATIS_LOG = System.getProperty("hive.test.ratisLog");

  static {
    if (RATIS_LOG != null) {
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.ratis", RATIS_LOG);
      System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
      System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
    }
  }

  /** How long a joiner or a restarted node may take to be up to date. */
  private static final Duration CATCH_UP = Duration.ofSeconds(10);
  /** How long a group may take to elect a leader. */
  private static final Duration ELECTION = Duration.ofSeconds(30);

  @TempDir Path dir;
  private final List<RaftCommandLog> logs = new ArrayList<>();
  /** Each node's certificates, issued once: a restarted node keeps them. */
  private final Map<String, ClusterPki> pkis = new HashMap<>();
  /** Each node's Raft address, kept across restarts. */
  private final Map<String, String> addresses = new HashMap<>();
  private ClusterPki ca;

  @AfterEach
  void closeAll() {
    logs.forEach(RaftCommandLog::close);
  }

  @Test
  void aNodeJoinsAGroupWhoseOnlyNodeWasRestarted() throws Exception {
    RaftCommandLog a = found("a");
    a.submit(new Command.RegisterNode(StateMachineTest.NODE));
    a.submit(new Command.DeployApp(StateMachineTest.web(2), 0));
    a.submit(new Command.ScaleApp("web", 3));
    ClusterState before = a.state();

    a = restart(a);
    await().atMost(ELECTION).until(a::isLeader);
    assertThat(a.state()).isEqualTo(before);

    RaftCommandLog b = join(a, "b");
    assertThat(b.state()).isEqualTo(before);
    // The joiner follows the log from there on.
    b.submit(new Command.ScaleApp("web", 4));
    RaftCommandLog leader = a;
    await().atMost(CATCH_UP).until(() -> leader.state().apps().get("web").spec().replicas() == 4);
    assertThat(a.state()).isEqualTo(b.state());
  }

  /**
   * Ratis stops the log appender of every listener when a configuration change fails its staging
   * (it never marks a listener caught up): here, adding a peer that never answers. The leader
   * must notice that it sends a listener nothing and bring it back, or the listener's state
   * stops following the log for good.
   */
  @Test
  void aListenerKeepsFollowingAfterAConfigurationChangeFailed() throws Exception {
    RaftCommandLog a = found("a");
    a.submit(new Command.RegisterNode(StateMachineTest.NODE));
    a.submit(new Command.DeployApp(StateMachineTest.web(2), 0));
    RaftCommandLog b = join(a, "b");
    // A listener that never starts: the change's staging fails for want of an answer.
    List<RaftCommandLog.Peer> before = a.configuration();
    List<RaftCommandLog.Peer> withGhost = new ArrayList<>(before);
    withGhost.add(new RaftCommandLog.Peer("ghost", address("ghost"), false));
    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> a.setConfiguration(before, withGhost))).as("adding a peer that never answers").isNotNull();
    await().atMost(ELECTION).until(() -> a.configuration().equals(before));
    long stoppedAt = System.nanoTime();
    for (int i = 3; i <= 9; i++) {
      a.submit(new Command.ScaleApp("web", i));
    }
    await().atMost(ELECTION).until(() -> b.state().equals(a.state()));
    System.out.printf("[RaftRestartTest] the listener the leader had stopped sending to had the state again %.1f s later%n",
        (System.nanoTime() - stoppedAt) / 1e9);
    assertThat(b.state().apps().get("web").spec().replicas()).isEqualTo(9);
  }

  @Test
  void aRestartedLeaderFollowsTheNewOneSoon() throws Exception {
    List<RaftCommandLog> group = formThree();
    RaftCommandLog a = group.get(0);
    RaftCommandLog b = group.get(1);
    RaftCommandLog c = group.get(2);
    assertThat(a.isLeader()).isTrue();

    a.close();
    logs.remove(a);
    await().atMost(ELECTION).until(() -> b.isLeader() || c.isLeader());
    RaftCommandLog leader = b.isLeader() ? b : c;
    leader.submit(new Command.ScaleApp("web", 5));

    RaftCommandLog restarted = restart(a, false);
    long started = System.nanoTime();
    await().atMost(CATCH_UP).until(() -> restarted.leaderId() != null && applied(restarted) >= committed(leader));
    System.out.printf("[RaftRestartTest] the restarted leader knew a leader and had applied its commit index %.1f s after its start%n",
        (System.nanoTime() - started) / 1e9);
    assertThat(restarted.state()).isEqualTo(leader.state());
    // And it takes part: a write through it is applied everywhere.
    restarted.submit(new Command.ScaleApp("web", 6));
    await().atMost(CATCH_UP).until(() -> b.state().equals(restarted.state()) && c.state().equals(restarted.state()));
    assertThat(restarted.state().apps().get("web").spec().replicas()).isEqualTo(6);
  }

  @Test
  void aWholeGroupRestartsTogetherAndThenAdmitsAJoiner() throws Exception {
    List<RaftCommandLog> group = formThree();
    ClusterState before = group.get(0).state();
    for (RaftCommandLog node : group) {
      node.close();
      logs.remove(node);
    }
    List<RaftCommandLog> restarted = new ArrayList<>();
    for (RaftCommandLog node : group) {
      restarted.add(start(node.nodeId(), List.of()));
    }
    await().atMost(ELECTION).until(() -> restarted.stream().anyMatch(RaftCommandLog::isLeader));
    for (RaftCommandLog node : restarted) {
      assertThat(node.state()).as(node.nodeId()).isEqualTo(before);
    }
    RaftCommandLog leader = restarted.stream().filter(RaftCommandLog::isLeader).findFirst().orElseThrow();
    RaftCommandLog follower = restarted.stream().filter(n -> n != leader).findFirst().orElseThrow();
    follower.submit(new Command.ScaleApp("web", 7));
    await().atMost(CATCH_UP).until(() -> restarted.stream().allMatch(n -> n.state().equals(follower.state())));

    RaftCommandLog d = join(leader, "d");
    assertThat(d.state()).isEqualTo(leader.state());
    d.submit(new Command.ScaleApp("web", 8));
    await().atMost(CATCH_UP).until(() -> restarted.stream().allMatch(n -> n.state().equals(d.state())));
    assertThat(d.state().apps().get("web").spec().replicas()).isEqualTo(8);
  }

  /**
   * A voter dropped from the group while it was down (as a SIGTERMed node is, on LEFT), then
   * started on its storage: its first election gets it told to shut down, and it starts again on
   * its storage. Once the leader adds it back, it catches up and follows.
   */
  @Test
  void aVoterDroppedWhileDownRejoinsAfterItsRestart() throws Exception {
    List<RaftCommandLog> group = formThree();
    RaftCommandLog a = group.get(0);
    RaftCommandLog c = group.get(2);
    c.close();
    logs.remove(c);
    List<RaftCommandLog.Peer> withC = a.configuration();
    a.setConfiguration(withC, withC.stream().filter(p -> !p.id().equals("c")).toList());
    a.submit(new Command.ScaleApp("web", 9));

    RaftCommandLog restarted = restart(c, false);
    await().atMost(ELECTION).until(() -> restarted.rejoins() == 1);
    a.requestAdd("c", address("c"));
    await().atMost(CATCH_UP).until(() -> restarted.admitted() && restarted.state().equals(a.state()));
    a.submit(new Command.ScaleApp("web", 10));
    await().atMost(CATCH_UP).until(() -> restarted.state().equals(a.state()));
    assertThat(restarted.state().apps().get("web").spec().replicas()).isEqualTo(10);
  }

  /**
   * A listener promoted while the leader cannot commit the change (two of four nodes down), then
   * the leader lost. Ratis 3.3.0 builds a new leader's senders from both halves of the joint
   * configuration in its log, where the promoted node is a listener in one and a voter in the
   * other: found twice, the new leader throws in its constructor, stays "not ready" for good, and
   * the group takes no write again. Hive changes a role in two changes, so no joint configuration
   * holds a node twice.
   */
  @Test
  void aGroupWhoseLeaderDiesWhilePromotingAListenerStillTakesWrites() throws Exception {
    List<RaftCommandLog> group = formThree();
    RaftCommandLog a = group.get(0);
    RaftCommandLog b = group.get(1);
    RaftCommandLog c = group.get(2);
    RaftCommandLog d = join(a, "d");
    for (RaftCommandLog down : List.of(c, d)) {
      down.close();
      logs.remove(down);
    }
    List<RaftCommandLog.Peer> conf = a.configuration();
    List<RaftCommandLog.Peer> dPromoted = conf.stream().map(p -> new RaftCommandLog.Peer(p.id(), p.address(), p.voter() || p.id().equals("d"))).toList();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.setConfiguration(conf, dPromoted))
        .isInstanceOf(dev.hive.api.UnavailableException.class);
    a.close();
    logs.remove(a);
    restart(c, false);
    restart(d, false);

    await().atMost(ELECTION).until(() -> b.leaderId() != null);
    b.submit(new Command.ScaleApp("web", 11));
    assertThat(b.state().apps().get("web").spec().replicas()).isEqualTo(11);
  }

  /**
   * Nodes that came in by an installed snapshot, and have taken snapshots of their own since (one
   * each time they stop), restart from their newest one: once 1024 entries are past the last purge,
   * Ratis deletes the closed log segments up to the snapshot. A rolling restart of the group, three
   * times, with writes in between.
   */
  @Test
  void rollingRestartsOfNodesThatJoinedByASnapshot() throws Exception {
    RaftCommandLog a = found("a");
    a.submit(new Command.RegisterNode(StateMachineTest.NODE));
    a.submit(new Command.DeployApp(StateMachineTest.web(2), 0));
    a = restart(a);
    await().atMost(ELECTION).until(a::isLeader);
    // b and c get a's snapshot installed, then become voters.
    RaftCommandLog b = join(a, "b");
    RaftCommandLog c = join(a, "c");
    for (String promoted : List.of("b", "c")) {
      a.setConfiguration(a.configuration(), a.configuration().stream()
          .map(p -> new RaftCommandLog.Peer(p.id(), p.address(), p.voter() || p.id().equals(promoted))).toList());
    }
    List<RaftCommandLog> nodes = new ArrayList<>(List.of(a, b, c));
    int replicas = 2;
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < nodes.size(); i++) {
        RaftCommandLog writer = nodes.get((i + 1) % nodes.size());
        await().atMost(ELECTION).until(() -> writer.leaderId() != null);
        for (int w = 0; w < 3; w++) {
          writer.submit(new Command.ScaleApp("web", ++replicas));
        }
        long appliedAtStop = applied(nodes.get(i));
        RaftCommandLog restarted = restart(nodes.get(i));
        nodes.set(i, restarted);
        // It took a snapshot as it stopped, and starts from that one, not from the one installed
        // when it joined (which would need log entries a purge deletes once there are 1024).
        assertThat(latestSnapshotIndex(restarted)).as("%s's snapshot at its restart", restarted.nodeId())
            .isGreaterThanOrEqualTo(appliedAtStop);
        long started = System.nanoTime();
        await().atMost(CATCH_UP).until(() -> restarted.leaderId() != null
            && nodes.stream().filter(n -> n != restarted).allMatch(n -> applied(restarted) >= committed(n) && restarted.state().equals(n.state())));
        System.out.printf("[RaftRestartTest] round %d: %s caught up %.1f s after its restart%n", round, restarted.nodeId(),
            (System.nanoTime() - started) / 1e9);
      }
    }
    for (RaftCommandLog node : nodes) {
      assertThat(node.state().apps().get("web").spec().replicas()).as(node.nodeId()).isEqualTo(replicas);
    }
  }

  /**
   * The split brain of the consistency checker, made deterministic. The founder a was the group's
   * only voter for the first log entries. Demoted while down, it is told to shut down by its first
   * election after its restart, and RaftCommandLog.rejoin starts it again. When that was on empty
   * storage, the leader sent it its log from index 0; a batch that ended among the first entries
   * left it with the configuration of index 0, {a}, in which it is the only voter: Ratis turned the
   * listener into a follower (ServerState.updateConfiguration). Cut off from the leader before the
   * next batch (in the checker: a partition, or just a slow leader), it elected itself alone, and
   * both it and the real leader committed writes. Started again on its own storage, it keeps the
   * configuration it last had, and needs the others' votes.
 *
   * <p>What the test forces: the leader's appender sends one entry per request (buffer element
   * limit 1; in production the batch ends where half the heartbeat interval runs out), and once a
   * has started again, the leader's requests to it fail (a partition), except while a's log is
   * empty.
   */
  @Test
  void aFounderRejoiningOnEmptyStorageNeverLeadsAGroupOfItsOwn() throws Exception {
    List<RaftCommandLog> group = formThree();
    RaftCommandLog a = group.get(0);
    RaftCommandLog b = group.get(1);
    RaftCommandLog c = group.get(2);
    // The next leader's appenders send one entry a request: a batch may end anywhere.
    for (RaftCommandLog n : List.of(b, c)) {
      RaftServerConfigKeys.Log.Appender.setBufferElementLimit(properties(n), 1);
    }

    // a goes down; the others elect a leader, which demotes a to a listener (as maintainVoters does with a DEAD voter).
    a.close();
    logs.remove(a);
    await().atMost(Duration.ofSeconds(30)).until(() -> b.isLeader() || c.isLeader());
    RaftCommandLog leader = b.isLeader() ? b : c;
    List<RaftCommandLog.Peer> conf = leader.configuration();
    leader.setConfiguration(conf, conf.stream().map(p -> new RaftCommandLog.Peer(p.id(), p.address(), p.voter() && !p.id().equals("a"))).toList());
    leader.submit(new Command.ScaleApp("web", 4));

    // The leader's requests to a are lost (a partition) from now on, except, once a has started
    // again after the group shut it down, while its log is empty: it takes one entry, index 0.
    java.util.concurrent.atomic.AtomicReference<RaftCommandLog> restartedRef = new java.util.concurrent.atomic.AtomicReference<>();
    CodeInjectionForTesting.put(APPEND_ENTRIES, (local, remote, args) -> {
      if (!String.valueOf(local).equals("a")) {
        return false;
      }
      RaftCommandLog r = restartedRef.get();
      if (r == null || r.rejoins() == 0 || lastIndex(r) >= 0) {
        throw new IllegalStateException("test: partitioned from " + remote);
      }
      if (args.length > 1 && args[1] instanceof AppendEntriesRequestProto request && request.getEntriesCount() > 0) {
        System.out.printf("[RaftRestartTest] a, rejoined with an empty log, takes entries %d..%d from %s%n",
            request.getEntries(0).getIndex(), request.getEntries(request.getEntriesCount() - 1).getIndex(), remote);
      }
      return false;
    });

    // a starts again on its storage: its log says voter, its election gets it told to shut down, and it starts again.
    RaftCommandLog restarted = start("a", List.of());
    restartedRef.set(restarted);
    await().atMost(Duration.ofSeconds(30)).until(() -> restarted.rejoins() >= 1);

    // Safety: a listener rejoining must never lead while the real leader leads. Within 10 s, with the
    // leader's messages lost, a campaigns; in the configuration of index 0 it needs no vote but its own.
    long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < end) {
      if (restarted.isLeader()) {
        break;
      }
      Thread.sleep(50);
    }
    String split = null;
    if (restarted.isLeader() && leader.isLeader()) {
      // Both sides acknowledge a write.
      restarted.submit(new Command.DeployApp(StateMachineTest.web(9), 0), "split-a");
      leader.submit(new Command.ScaleApp("web", 5), "split-b");
      split = "a leads " + restarted.configuration() + " in term " + term(restarted) + " and " + leader.nodeId() + " leads "
          + leader.configuration() + " in term " + term(leader) + "; both acknowledged a write (a's log ends at index "
          + lastIndex(restarted) + ", " + leader.nodeId() + "'s at " + lastIndex(leader) + ")";
      System.out.println("[RaftRestartTest] SPLIT BRAIN: " + split);
    }
    assertThat(split).as("two leaders at once").isNull();
  }

  /** The Ratis code-injection point of a follower's appendEntries: the split-brain test cuts a node off there. */
  private static final String APPEND_ENTRIES = "RaftServerImpl.appendEntries";

  @AfterEach
  void removeInjections() {
    CodeInjectionForTesting.remove(APPEND_ENTRIES);
  }

  private static RaftProperties properties(RaftCommandLog log) {
    return log.division().getRaftServer().getProperties();
  }

  /** The index of the last entry in the node's log, -1 when it is empty, Long.MAX_VALUE when its server is not running. */
  private static long lastIndex(RaftCommandLog log) {
    try {
      var last = log.division().getRaftLog().getLastEntryTermIndex();
      return last == null ? -1 : last.getIndex();
    } catch (RuntimeException e) {
      return Long.MAX_VALUE;
    }
  }

  private static long term(RaftCommandLog log) {
    return log.division().getInfo().getCurrentTerm();
  }

  /** a leads; b and c joined and were promoted to voters; all have applied three writes. */
  private List<RaftCommandLog> formThree() {
    RaftCommandLog a = found("a");
    a.submit(new Command.RegisterNode(StateMachineTest.NODE));
    a.submit(new Command.DeployApp(StateMachineTest.web(2), 0));
    RaftCommandLog b = join(a, "b");
    RaftCommandLog c = join(a, "c");
    // Ratis changes at most a minority of voters at once: promote one, then the other.
    for (String promoted : List.of("b", "c")) {
      a.setConfiguration(a.configuration(), a.configuration().stream()
          .map(p -> new RaftCommandLog.Peer(p.id(), p.address(), p.voter() || p.id().equals(promoted))).toList());
    }
    a.submit(new Command.ScaleApp("web", 3));
    await().atMost(CATCH_UP).until(() -> applied(b) == applied(a) && applied(c) == applied(a));
    return List.of(a, b, c);
  }

  /** Starts a new single-node group led by {@code id}. */
  private RaftCommandLog found(String id) {
    String address = address(id);
    RaftCommandLog node = start(id, List.of(new RaftCommandLog.Peer(id, address, true)));
    await().atMost(ELECTION).until(node::isLeader);
    return node;
  }

  /**
   * Starts {@code id} with the leader's configuration plus itself, has the leader add it, and
   * waits until it is admitted and has the leader's state.
   */
  private RaftCommandLog join(RaftCommandLog leader, String id) {
    List<RaftCommandLog.Peer> conf = new ArrayList<>(leader.configuration());
    conf.add(new RaftCommandLog.Peer(id, address(id), false));
    RaftCommandLog node = start(id, conf);
    assertThat(node.admitted()).isFalse();
    long started = System.nanoTime();
    leader.requestAdd(id, address(id));
    await().atMost(CATCH_UP).until(() -> node.admitted() && node.state().equals(leader.state()));
    System.out.printf("[RaftRestartTest] %s was admitted and had the state %.1f s after it asked%n", id, (System.nanoTime() - started) / 1e9);
    return node;
  }

  private RaftCommandLog restart(RaftCommandLog node) {
    return restart(node, true);
  }

  /** Closes {@code node} (unless it is closed already) and starts it again on its storage and address. */
  private RaftCommandLog restart(RaftCommandLog node, boolean close) {
    if (close) {
      node.close();
    }
    logs.remove(node);
    // Ignored on restart: the storage holds the group.
    return start(node.nodeId(), List.of());
  }

  private RaftCommandLog start(String id, List<RaftCommandLog.Peer> peers) {
    RaftCommandLog log = RaftCommandLog.start("test", id, dir.resolve(id), "127.0.0.1", address(id), peers, pki(id), RaftCommandLog.Timing.DEFAULTS);
    logs.add(log);
    return log;
  }

  private String address(String id) {
    return addresses.computeIfAbsent(id, i -> "127.0.0.1:" + freePort());
  }

  private ClusterPki pki(String id) {
    return pkis.computeIfAbsent(id, i -> {
      ClusterPki pki;
      if (ca == null) {
        ca = ClusterPki.createCluster(dir.resolve("tls-" + id), "test", id);
        pki = ca;
      } else {
        KeyPair keys = ClusterPki.newKeyPair();
        pki = ClusterPki.joined(dir.resolve("tls-" + id), keys, ca.issue(id, keys.getPublic()), ca.caCertificate(), null);
      }
      return pki;
    });
  }

  private static RaftServer.Division division(RaftCommandLog log) {
    try {
      Field server = RaftCommandLog.class.getDeclaredField("server");
      server.setAccessible(true);
      Field group = RaftCommandLog.class.getDeclaredField("groupId");
      group.setAccessible(true);
      return ((RaftServer) server.get(log)).getDivision((RaftGroupId) group.get(log));
    } catch (ReflectiveOperationException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The index of the newest snapshot the node's state machine knows. */
  private static long latestSnapshotIndex(RaftCommandLog log) {
    return Objects.requireNonNull(division(log).getStateMachine().getLatestSnapshot(), "no snapshot").getIndex();
  }

  /** The node's last applied log index. */
  private static long applied(RaftCommandLog log) {
    return division(log).getInfo().getLastAppliedIndex();
  }

  /** The node's last committed log index. */
  private static long committed(RaftCommandLog log) {
    return Objects.requireNonNull(division(log).getRaftLog()).getLastCommittedIndex();
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
