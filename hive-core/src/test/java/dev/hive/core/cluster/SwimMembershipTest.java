package dev.hive.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.NodeState;
import dev.hive.core.sim.VirtualClock;
import dev.hive.core.transport.memory.InMemoryNetwork;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The failure detector in virtual time: the clock moves only when the test moves it. */
class SwimMembershipTest {
  static final Duration STEP = Duration.ofMillis(50);

  final VirtualClock clock = new VirtualClock(Instant.parse("2026-01-01T00:00:00Z"));
  final InMemoryNetwork network = InMemoryNetwork.virtualTime();
  final Map<String, SwimMembership> nodes = new LinkedHashMap<>();
  final List<String> events = new ArrayList<>();

  SwimMembership node(String id, int port) {
    Transport t = network.transport(id);
    Member self = new Member(id, "sim", port, clock.millis(), NodeState.ALIVE, 0, 0, Map.of("name", id));
    SwimMembership m =
        new SwimMembership(self, t, clock, SwimMembership.Settings.DEFAULTS.forVirtualTime(), new Random(port),
            (before, after) -> events.add(id + " sees " + after.id() + " " + after.state()));
    t.listen("sim", port, m.handler());
    nodes.put(id, m);
    return m;
  }

  void run(Duration d) {
    for (long t = 0; t < d.toMillis(); t += STEP.toMillis()) {
      clock.advance(STEP);
      nodes.values().forEach(SwimMembership::tick);
    }
  }

  NodeState stateOf(String observer, String member) {
    return nodes.get(observer).members().stream().filter(m -> m.id().equals(member)).findFirst().map(Member::state).orElse(null);
  }

  void threeNodesFromOneSeedEach() {
    node("a", 1);
    node("b", 2).addSeeds(List.of(new DiscoveredPeer("a", "sim", 1)));
    node("c", 3).addSeeds(List.of(new DiscoveredPeer("b", "sim", 2)));
    run(Duration.ofSeconds(12));
  }

  @Test
  void nodesToldOneSeedEachLearnOfEveryone() {
    threeNodesFromOneSeedEach();
    for (String observer : List.of("a", "b", "c")) {
      assertThat(nodes.get(observer).members()).extracting(Member::id).containsExactly("a", "b", "c");
      assertThat(nodes.get(observer).members()).extracting(Member::state).containsOnly(NodeState.ALIVE);
    }
  }

  /**
   * Three nodes, b and c seeded with a; {@code cut} is cut off from both others for 30 s, and
   * each side holds the other DEAD; within {@code healWithin} of the reconnect all three are
   * ALIVE everywhere again.
   */
  private void cutOffForThirtySecondsThenAliveEverywhereWithin(String cut, Duration healWithin) {
    node("a", 1);
    node("b", 2).addSeeds(List.of(new DiscoveredPeer("a", "sim", 1)));
    node("c", 3).addSeeds(List.of(new DiscoveredPeer("a", "sim", 1)));
    run(Duration.ofSeconds(12));
    network.cutOff(cut);
    run(Duration.ofSeconds(30));
    for (String other : List.of("a", "b", "c")) {
      if (!other.equals(cut)) {
        assertThat(stateOf(other, cut)).as(other + " sees " + cut).isEqualTo(NodeState.DEAD);
        assertThat(stateOf(cut, other)).as(cut + " sees " + other).isEqualTo(NodeState.DEAD);
      }
    }
    network.reconnect(cut);
    run(healWithin);
    for (String observer : List.of("a", "b", "c")) {
      assertThat(nodes.get(observer).members()).as(observer).extracting(Member::state).containsOnly(NodeState.ALIVE);
    }
  }

  /**
   * Each side holds the other DEAD at the same incarnation, so only a sync in which each learns
   * it was declared dead, and refutes it, heals: the cut-off node, which knows no live member,
   * syncs with its seed.
   */
  @Test
  void aNodeCutOffAndReconnectedIsAliveEverywhereWithinFiveSeconds() {
    cutOffForThirtySecondsThenAliveEverywhereWithin("c", Duration.ofSeconds(5));
  }

  /**
   * The founder has no seed: cut off alone, it knows no live member and no address to try, and
   * nobody probes a member held DEAD. Each node also syncs with a member it holds DEAD, as Serf
   * reconnects to failed members; without it the founder stayed apart for good (ConsistencyIT).
   */
  @Test
  void aFounderCutOffAloneIsAliveEverywhereAgainSoonAfterTheHeal() {
    cutOffForThirtySecondsThenAliveEverywhereWithin("a", Duration.ofSeconds(12));
  }

  @Test
  void aDiscoveryReportingKnownMembersAgainDoesNotMakeANodeSync() {
    threeNodesFromOneSeedEach();
    int before = network.delivered();
    run(Duration.ofSeconds(1));
    int quiet = network.delivered() - before;
    before = network.delivered();
    for (int i = 0; i < 20; i++) {
      nodes.get("a").addSeeds(List.of(new DiscoveredPeer("b", "sim", 2), new DiscoveredPeer("c", "sim", 3)));
      run(STEP);
    }
    int told = network.delivered() - before;
    assertThat(told).as("messages in a second while a's discovery re-reports b and c every 50 ms, against %d without", quiet)
        .isLessThanOrEqualTo(quiet + 4);
  }

  @Test
  void aNodeThatKnowsNoMemberSyncsWithEachSeedOnceAndThenTwoAtRandom() {
    SwimMembership alone = node("a", 1);
    List<DiscoveredPeer> silentSeeds = new ArrayList<>();
    for (int i = 2; i <= 11; i++) {
      silentSeeds.add(new DiscoveredPeer("s" + i, "sim", i));
    }
    alone.addSeeds(silentSeeds);
    run(SwimMembership.Settings.DEFAULTS.syncInterval().multipliedBy(3).minus(STEP));
    assertThat(alone.requestsSent()).as("three sync intervals with ten seeds that do not answer").isEqualTo(10 + 2 * 2);
  }

  @Test
  void aDeadNodeIsSuspectedThenDeclaredDeadWithinThreeSeconds() {
    threeNodesFromOneSeedEach();
    network.cutOff("c");
    long cutAt = clock.millis();
    long deadAt = -1;
    boolean suspectedFirst = false;
    while (clock.millis() - cutAt < 10_000) {
      run(STEP);
      if (stateOf("a", "c") == NodeState.SUSPECT || stateOf("b", "c") == NodeState.SUSPECT) {
        suspectedFirst = true;
      }
      if (stateOf("a", "c") == NodeState.DEAD && stateOf("b", "c") == NodeState.DEAD) {
        deadAt = clock.millis();
        break;
      }
    }
    assertThat(suspectedFirst).isTrue();
    assertThat(deadAt).isPositive();
    assertThat(deadAt - cutAt).as("detection time in ms").isLessThanOrEqualTo(3000);
    assertThat(stateOf("a", "b")).isEqualTo(NodeState.ALIVE);
  }

  @Test
  void aSuspectThatComesBackRefutesWithAHigherIncarnationAndIsNeverDead() {
    threeNodesFromOneSeedEach();
    long before = nodes.get("c").self().incarnation();
    network.cutOff("c");
    while (stateOf("a", "c") != NodeState.SUSPECT && stateOf("b", "c") != NodeState.SUSPECT) {
      run(STEP);
    }
    network.reconnect("c");
    run(Duration.ofSeconds(5));
    assertThat(stateOf("a", "c")).isEqualTo(NodeState.ALIVE);
    assertThat(stateOf("b", "c")).isEqualTo(NodeState.ALIVE);
    assertThat(nodes.get("c").self().incarnation()).isGreaterThan(before);
    assertThat(events).noneMatch(e -> e.endsWith("c DEAD"));
  }

  /** A full sync carries every member: at 10,000 nodes every 5 s it would be 300 KB/s a node. */
  @Test
  void fullSyncsSpreadOutAsTheClusterDoubles() {
    assertThat(SwimMembership.syncScale(3)).isEqualTo(1);
    assertThat(SwimMembership.syncScale(32)).isEqualTo(1);
    assertThat(SwimMembership.syncScale(33)).isEqualTo(2);
    assertThat(SwimMembership.syncScale(64)).isEqualTo(2);
    assertThat(SwimMembership.syncScale(65)).isEqualTo(3);
    assertThat(SwimMembership.syncScale(10_000)).isEqualTo(10);
  }

  @Test
  void aGracefulLeaveIsLeftNotDead() {
    threeNodesFromOneSeedEach();
    nodes.get("c").leave();
    network.cutOff("c");
    run(Duration.ofSeconds(10));
    assertThat(stateOf("a", "c")).isEqualTo(NodeState.LEFT);
    assertThat(stateOf("b", "c")).isEqualTo(NodeState.LEFT);
    assertThat(events).noneMatch(e -> e.endsWith("c DEAD"));
  }

  @Test
  void aHealthyClusterHasNoFalsePositives() {
    threeNodesFromOneSeedEach();
    for (int i = 4; i <= 8; i++) {
      node("n" + i, i).addSeeds(List.of(new DiscoveredPeer("a", "sim", 1)));
    }
    events.clear();
    run(Duration.ofMinutes(10));
    assertThat(events).noneMatch(e -> e.endsWith("SUSPECT") || e.endsWith("DEAD"));
    nodes.keySet().forEach(o -> assertThat(nodes.get(o).members()).hasSize(8).extracting(Member::state).containsOnly(NodeState.ALIVE));
  }

  @Test
  void aSlowNodeStretchesItsProbesInsteadOfAccusingHealthyNodes() {
    SwimMembership.Settings lifeguard = SwimMembership.Settings.DEFAULTS.forVirtualTime();
    int withAwareness = suspicionsRaisedByASlowNode(lifeguard);
    int without = suspicionsRaisedByASlowNode(lifeguard.withMaxHealthScore(0));
    // Without local health awareness nearly every probe of the slow node ends in a suspicion.
    assertThat(without).isGreaterThan(100);
    assertThat(withAwareness).isLessThan(without / 5);
  }

  /**
   * Eight healthy nodes and one whose answers reach it 500 ms late (longer than the 150 ms probe
   * timeout and the 400 ms period); returns how often the slow one suspects a healthy node in a minute.
   */
  private int suspicionsRaisedByASlowNode(SwimMembership.Settings settings) {
    InMemoryNetwork net = InMemoryNetwork.virtualTime();
    List<SwimMembership> cluster = new ArrayList<>();
    List<LaggingTransport> lagging = new ArrayList<>();
    int[] suspicions = {0};
    for (int i = 1; i <= 9; i++) {
      String id = i == 9 ? "slow" : "n" + i;
      Transport t = net.transport(id);
      if (i == 9) {
        LaggingTransport slow = new LaggingTransport(t, 500);
        lagging.add(slow);
        t = slow;
      }
      Member self = new Member(id, "sim", i, clock.millis(), NodeState.ALIVE, 0, 0, Map.of("name", id));
      SwimMembership m = new SwimMembership(self, t, clock, settings, new Random(i), (before, after) -> {
        if (id.equals("slow") && after.state() == NodeState.SUSPECT) {
          suspicions[0]++;
        }
      });
      t.listen("sim", i, m.handler());
      m.addSeeds(List.of(new DiscoveredPeer("n1", "sim", 1)));
      cluster.add(m);
    }
    for (long t = 0; t < 60_000; t += STEP.toMillis()) {
      clock.advance(STEP);
      lagging.forEach(LaggingTransport::deliverDue);
      cluster.forEach(SwimMembership::tick);
    }
    return suspicions[0];
  }

  /** A transport whose answers reach its node {@code lagMillis} late, as on a node too busy to read them. */
  private final class LaggingTransport implements Transport {
    private final Transport delegate;
    private final long lagMillis;
    private final List<Runnable> due = new ArrayList<>();
    private final List<Long> dueAt = new ArrayList<>();

    LaggingTransport(Transport delegate, long lagMillis) {
      this.delegate = delegate;
      this.lagMillis = lagMillis;
    }

    void deliverDue() {
      for (int i = 0; i < due.size(); ) {
        if (dueAt.get(i) <= clock.millis()) {
          dueAt.remove(i);
          due.remove(i).run();
        } else {
          i++;
        }
      }
    }

    @Override
    public java.util.concurrent.CompletableFuture<byte[]> request(DiscoveredPeer target, String topic, byte[] payload, Duration timeout) {
      java.util.concurrent.CompletableFuture<byte[]> late = new java.util.concurrent.CompletableFuture<>();
      long at = clock.millis() + lagMillis;
      delegate.request(target, topic, payload, timeout).whenComplete((reply, error) -> {
        dueAt.add(at);
        due.add(() -> {
          if (error == null) {
            late.complete(reply);
          } else {
            late.completeExceptionally(error);
          }
        });
      });
      return late;
    }

    @Override
    public java.util.concurrent.CompletableFuture<byte[]> stream(DiscoveredPeer target, String topic, java.io.InputStream body, Duration timeout) {
      return delegate.stream(target, topic, body, timeout);
    }

    @Override
    public String name() {
      return delegate.name();
    }

    @Override
    public String localNodeId() {
      return delegate.localNodeId();
    }

    @Override
    public int listen(String host, int port, Handler handler) {
      return delegate.listen(host, port, handler);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
