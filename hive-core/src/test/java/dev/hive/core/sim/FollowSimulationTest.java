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
   * With relays (servers feeding 16 clients each here, so that the tree is deep at a size CI
   * runs in seconds) ten times the clients add a level or two to the tree, not ten times the
   * reach time, and each client still costs the same per change.
   */
  @Test
  void throughRelaysTenTimesTheClientsAddLevelsNotTenTimesTheReachTime() {
    Result small = FollowSimulation.simulate(300, 3, 5, 16);
    Result large = FollowSimulation.simulate(3000, 3, 5, 16);
    System.out.println(small + "\n" + large);
    assertThat(large.deepestHops()).isGreaterThan(small.deepestHops());
    assertThat(large.reachMaxMs()).isLessThan(3 * small.reachMaxMs());
    assertThat(large.messagesPerClientPerChange()).isCloseTo(small.messagesPerClientPerChange(), org.assertj.core.data.Percentage.withPercentage(20));
    assertThat(large.busiestServerMessagesPerClientPerSecond()).isLessThan(small.busiestServerMessagesPerClientPerSecond());
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

  /**
   * Servers that feed 4 clients each and 150 clients: the rest are redirected down to clients
   * that relay, no feed pushes to more followers than it has room for, and every client holds
   * every change within a second.
   */
  @Test
  void pastItsCapacityAServerRedirectsAndClientsRelayToEachOther() {
    Tree tree = new Tree(3, 4, 150);
    tree.net.runUntil(java.time.Duration.ofSeconds(10).toNanos());
    assertThat(tree.feeds).allSatisfy(f -> assertThat(f.subscribers()).as("a server's followers").isLessThanOrEqualTo(4));
    assertThat(tree.clients).allSatisfy(c -> assertThat(c.followers()).as("a relay's followers").isLessThanOrEqualTo(dev.hive.core.follow.FollowedLog.RELAY_FOLLOWERS));
    assertThat(tree.clients.stream().mapToInt(dev.hive.core.follow.FollowedLog::hops).max().orElseThrow()).as("relays between a server and the deepest client")
        .isBetween(1, 3);
    tree.log.submitAsync(new dev.hive.core.state.Command.DeployApp(dev.hive.api.AppSpec.builder("web").command("sleep 600").build(), 0), "deploy-web");
    tree.net.runUntil(java.time.Duration.ofSeconds(11).toNanos());
    assertThat(tree.clients).allSatisfy(c -> assertThat(c.state().apps()).containsKey("web"));
  }

  /** A relay dies: its followers leave it for silence, are redirected to other relays, and miss no change. */
  @Test
  void theFollowersOfARelayThatDiesFindAnotherAndMissNoChange() {
    Tree tree = new Tree(3, 4, 150);
    tree.net.runUntil(java.time.Duration.ofSeconds(10).toNanos());
    int relay = java.util.stream.IntStream.range(0, tree.clients.size()).filter(i -> tree.clients.get(i).followers() > 0).findFirst().orElseThrow();
    String relayId = "client-" + relay;
    tree.kill(relay);
    for (int k = 0; k < 5; k++) {
      tree.log.submitAsync(new dev.hive.core.state.Command.DeployApp(dev.hive.api.AppSpec.builder("app" + k).command("sleep 600").build(), 0), "deploy-" + k);
    }
    tree.net.runUntil(java.time.Duration.ofSeconds(20).toNanos());
    for (int c = 0; c < tree.clients.size(); c++) {
      if (c != relay) {
        assertThat(tree.clients.get(c).serverId()).as("client-" + c + "'s upstream").isNotEqualTo(relayId);
        assertThat(tree.clients.get(c).index()).as("client-" + c + "'s copy").isEqualTo(tree.log.index());
      }
    }
  }

  /** Servers with room for {@code serverFollowers} each and clients that relay, ticking in virtual time; a killed node stops ticking and listening. */
  private static final class Tree {
    final VirtualClock clock = new VirtualClock(java.time.Instant.parse("2026-01-01T00:00:00Z"));
    final EventNetwork net = new EventNetwork(clock, FollowSimulation.LATENCY, FollowSimulation.PER_MESSAGE, FollowSimulation.PER_BYTE_NANOS);
    final SimulatedConsensus log = new SimulatedConsensus();
    final java.util.List<dev.hive.core.follow.ChangeFeed> feeds = new java.util.ArrayList<>();
    final java.util.List<dev.hive.core.follow.FollowedLog> clients = new java.util.ArrayList<>();
    private final java.util.List<dev.hive.spi.Transport> clientTransports = new java.util.ArrayList<>();
    private final java.util.Set<Integer> dead = new java.util.HashSet<>();

    Tree(int servers, int serverFollowers, int clientCount) {
      java.util.List<dev.hive.spi.DiscoveredPeer> serverPeers = new java.util.ArrayList<>();
      long tick = FollowSimulation.TICK.toNanos();
      for (int s = 0; s < servers; s++) {
        dev.hive.spi.Transport t = net.transport("server-" + s);
        dev.hive.core.follow.ChangeFeed feed = new dev.hive.core.follow.ChangeFeed(t, log, clock, Runnable::run, Runnable::run).capacity(serverFollowers);
        t.listen("server-" + s, 1, feed::handle);
        feeds.add(feed.start());
        FollowSimulation.repeat(net, tick * s / servers, tick, feed::tick);
        serverPeers.add(new dev.hive.spi.DiscoveredPeer("server-" + s, "server-" + s, 1));
      }
      for (int c = 0; c < clientCount; c++) {
        dev.hive.spi.Transport t = net.transport("client-" + c);
        dev.hive.core.follow.FollowedLog follower =
            new dev.hive.core.follow.FollowedLog(t, "client-" + c, 1, () -> java.util.List.copyOf(serverPeers), clock, java.time.Duration.ofSeconds(10), c);
        t.listen("client-" + c, 1, follower);
        clients.add(follower);
        clientTransports.add(t);
        int me = c;
        FollowSimulation.repeat(net, tick * c / clientCount, tick, () -> {
          if (!dead.contains(me)) {
            follower.tick();
          }
        });
      }
    }

    void kill(int client) {
      dead.add(client);
      clientTransports.get(client).close();
    }
  }
}
