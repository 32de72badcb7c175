package dev.hive.core.consensus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.TlsContexts;
import dev.hive.core.state.Command;
import dev.hive.core.state.StateMachineTest;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.CodeInjectionForTesting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
class RaftRejoinSplitBrainTest {
  static {
    String level = System.getProperty("hive.test.ratisLog");
    if (level != null) {
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.ratis", level);
      System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
      System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
    }
  }

  private static final String APPEND_ENTRIES = "RaftServerImpl.appendEntries";

  @TempDir Path dir;
  private final List<RaftCommandLog> logs = new ArrayList<>();
  private final Map<String, GrpcTlsConfig> tls = new HashMap<>();
  private final Map<String, String> addresses = new HashMap<>();
  private ClusterPki ca;

  @AfterEach
  void closeAll() {
    CodeInjectionForTesting.remove(APPEND_ENTRIES);
    logs.forEach(RaftCommandLog::close);
  }

  @Test
  void aFounderRejoiningOnEmptyStorageNeverLeadsAGroupOfItsOwn() throws Exception {
    RaftCommandLog a = start("a", List.of(new RaftCommandLog.Peer("a", address("a"), true)));
    await().atMost(Duration.ofSeconds(30)).until(a::isLeader);
    a.submit(new Command.RegisterNode(StateMachineTest.NODE));
    a.submit(new Command.DeployApp(StateMachineTest.web(2), 0));
    RaftCommandLog b = join(a, "b");
    RaftCommandLog c = join(a, "c");
    for (String promoted : List.of("b", "c")) {
      a.setConfiguration(a.configuration(), a.configuration().stream()
          .map(p -> new RaftCommandLog.Peer(p.id(), p.address(), p.voter() || p.id().equals(promoted))).toList());
    }
    a.submit(new Command.ScaleApp("web", 3));
    await().atMost(Duration.ofSeconds(10)).until(() -> applied(b) == applied(a) && applied(c) == applied(a));
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
        System.out.printf("[RaftRejoinSplitBrainTest] a, rejoined with an empty log, takes entries %d..%d from %s%n",
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
      System.out.println("[RaftRejoinSplitBrainTest] SPLIT BRAIN: " + split);
    }
    assertThat(split).as("two leaders at once").isNull();
  }

  private RaftCommandLog join(RaftCommandLog leader, String id) {
    List<RaftCommandLog.Peer> conf = new ArrayList<>(leader.configuration());
    conf.add(new RaftCommandLog.Peer(id, address(id), false));
    RaftCommandLog node = start(id, conf);
    leader.requestAdd(id, address(id));
    await().atMost(Duration.ofSeconds(10)).until(() -> node.admitted() && node.state().equals(leader.state()));
    return node;
  }

  private RaftCommandLog start(String id, List<RaftCommandLog.Peer> peers) {
    RaftCommandLog log = RaftCommandLog.start("test", id, dir.resolve(id), address(id), peers, tls(id), RaftCommandLog.Timing.DEFAULTS);
    logs.add(log);
    return log;
  }

  private String address(String id) {
    return addresses.computeIfAbsent(id, i -> "127.0.0.1:" + freePort());
  }

  private GrpcTlsConfig tls(String id) {
    return tls.computeIfAbsent(id, i -> {
      ClusterPki pki;
      if (ca == null) {
        ca = ClusterPki.createCluster(dir.resolve("tls-" + id), "test", id);
        pki = ca;
      } else {
        KeyPair keys = ClusterPki.newKeyPair();
        pki = ClusterPki.joined(dir.resolve("tls-" + id), keys, ca.issue(id, keys.getPublic()), ca.caCertificate(), null);
      }
      return new GrpcTlsConfig(TlsContexts.memberKeys(pki), TlsContexts.memberTrust(pki), true);
    });
  }

  private static RaftProperties properties(RaftCommandLog log) {
    return log.division().getRaftServer().getProperties();
  }

  /** The index of the last entry in the node's log, -1 when it is empty or its server is not running. */
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

  private static long applied(RaftCommandLog log) {
    return log.division().getInfo().getLastAppliedIndex();
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
