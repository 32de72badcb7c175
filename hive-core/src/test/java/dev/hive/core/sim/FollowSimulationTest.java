package dev.hive.core.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.core.sim.FollowSimulation.Result;
import org.junit.jupiter.api.Test;

/**
 * Following in virtual time at a size CI runs in seconds; {@code dev.hive.benchmarks.FollowScaleSimulation}
 * runs 1,000 to 100,000 clients. What must hold as the cluster grows tenfold: each client's cost
 * per change stays the same, and every change reaches every client.
 */
class FollowSimulationTest {
  @Test
  void aChangeReachesEveryClientAndEachClientCostsTheSameAtTenTimesTheClients() {
    Result small = FollowSimulation.simulate(100, 3, 5);
    Result large = FollowSimulation.simulate(1000, 3, 5);
    System.out.println(small + "\n" + large);
    assertThat(large.messagesPerClientPerChange()).isCloseTo(small.messagesPerClientPerChange(), org.assertj.core.data.Percentage.withPercentage(20));
    assertThat(large.bytesPerClientPerChange()).isCloseTo(small.bytesPerClientPerChange(), org.assertj.core.data.Percentage.withPercentage(20));
    assertThat(large.busiestServerMessagesPerClientPerSecond())
        .isCloseTo(small.busiestServerMessagesPerClientPerSecond(), org.assertj.core.data.Percentage.withPercentage(50));
    assertThat(large.reachMaxMs()).isLessThan(1000);
  }

  /**
   * At formation every client joins while the founder is the only server, and follows it; two
   * more servers appear seconds later. The clients must spread over the three, or the founder
   * feeds them all while the others feed none: at 50 nodes on two cores the founder fell behind,
   * its clients left it for silence over 200 times, and each came back for a snapshot.
   */
  @Test
  void clientsThatJoinedTheOnlyServerSpreadOverTheServersAddedLater() {
    VirtualClock clock = new VirtualClock(java.time.Instant.parse("2026-01-01T00:00:00Z"));
    EventNetwork net = new EventNetwork(clock, FollowSimulation.LATENCY, FollowSimulation.PER_MESSAGE, FollowSimulation.PER_BYTE_NANOS);
    SimulatedConsensus log = new SimulatedConsensus();
    java.util.List<dev.hive.core.follow.ChangeFeed> feeds = new java.util.ArrayList<>();
    java.util.List<dev.hive.spi.DiscoveredPeer> visible = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.List<dev.hive.spi.DiscoveredPeer> all = new java.util.ArrayList<>();
    long tick = FollowSimulation.TICK.toNanos();
    for (int s = 0; s < 3; s++) {
      dev.hive.spi.Transport t = net.transport("server-" + s);
      dev.hive.core.follow.ChangeFeed feed = new dev.hive.core.follow.ChangeFeed(t, log, clock, Runnable::run, Runnable::run);
      t.listen("server-" + s, 1, feed::handle);
      feeds.add(feed.start());
      FollowSimulation.repeat(net, tick * s / 3, tick, feed::tick);
      all.add(new dev.hive.spi.DiscoveredPeer("server-" + s, "server-" + s, 1));
    }
    visible.add(all.get(0));
    int clients = 90;
    for (int c = 0; c < clients; c++) {
      dev.hive.spi.Transport t = net.transport("client-" + c);
      dev.hive.core.follow.FollowedLog follower =
          new dev.hive.core.follow.FollowedLog(t, "client-" + c, 1, () -> java.util.List.copyOf(visible), clock, java.time.Duration.ofSeconds(10), c);
      t.listen("client-" + c, 1, follower);
      FollowSimulation.repeat(net, tick * c / clients, tick, follower::tick);
    }
    net.runUntil(java.time.Duration.ofSeconds(5).toNanos());
    assertThat(feeds.get(0).subscribers()).isEqualTo(clients);
    visible.clear();
    visible.addAll(all);
    net.runUntil(java.time.Duration.ofSeconds(10).toNanos());
    assertThat(feeds).allSatisfy(f -> assertThat(f.subscribers()).as("clients on each of 3 servers").isBetween(clients / 3 - 15, clients / 3 + 15));
  }
}
