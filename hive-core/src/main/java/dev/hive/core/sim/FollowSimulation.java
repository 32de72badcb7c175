package dev.hive.core.sim;

import dev.hive.api.AppSpec;
import dev.hive.core.follow.ChangeFeed;
import dev.hive.core.follow.FollowedLog;
import dev.hive.core.state.Command;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Servers and clients in virtual time, on the real {@link ChangeFeed} and {@link FollowedLog}
 * over an {@link EventNetwork} (a message takes {@link #LATENCY}; each node's processor spends
 * {@link #PER_MESSAGE} plus {@link #PER_BYTE_NANOS} a byte on each message it sends or handles).
 * The log behind the servers commits at once ({@link SimulatedConsensus}): what is measured is
 * how a committed change reaches every client, not Raft. All clients subscribe and take their
 * snapshot first; then one change is committed a second, and the time until each client holds it
 * is recorded; when a change takes longer than a second to reach every client, the next waits for it.
 * A server feeds so many clients itself ({@link ChangeFeed#SERVER_FOLLOWERS} unless told); the
 * rest are redirected to clients that relay ({@link FollowedLog#RELAY_FOLLOWERS} each).
 */
public final class FollowSimulation {
  static final Duration LATENCY = Duration.ofMillis(1);
  static final Duration PER_MESSAGE = Duration.ofNanos(20_000);
  static final double PER_BYTE_NANOS = 1.0;
  static final Duration TICK = Duration.ofMillis(250);
  static final Duration REACH_LIMIT = Duration.ofSeconds(60);

  private FollowSimulation() {}

  /**
   * What one run measured.
   *
   * @param reachP50Ms median time from a change's commit until a client holds it
   * @param reachP99Ms the 99th percentile of it
   * @param reachMaxMs the time until the last client held it
   * @param messagesPerClientPerChange messages each client handled per change (pushes and answers)
   * @param bytesPerClientPerChange bytes each client took per change
   * @param busiestServerMessagesPerClientPerSecond messages the busiest server sent or handled, per client per second of the measured part
   * @param busiestServerBusyShare the share of the measured time the busiest server's processor was busy
   * @param deepestHops the most relays between a server and a client
   * @param busiestClientBusyShare the share of the measured time the busiest client's processor was busy (a relay's)
   */
  public record Result(int clients, int servers, int changes, double reachP50Ms, double reachP99Ms, double reachMaxMs, double messagesPerClientPerChange,
      double bytesPerClientPerChange, double busiestServerMessagesPerClientPerSecond, double busiestServerBusyShare, int deepestHops,
      double busiestClientBusyShare) {}

  /** Simulates servers that feed up to {@link ChangeFeed#SERVER_FOLLOWERS} clients each, and clients that relay to the rest. */
  public static Result simulate(int clients, int servers, int changes) {
    return simulate(clients, servers, changes, ChangeFeed.SERVER_FOLLOWERS);
  }

  /** @param serverFollowers clients a server feeds itself; {@code Integer.MAX_VALUE} has every client follow a server (no relays) */
  public static Result simulate(int clients, int servers, int changes, int serverFollowers) {
    VirtualClock clock = new VirtualClock(Instant.parse("2026-01-01T00:00:00Z"));
    EventNetwork net = new EventNetwork(clock, LATENCY, PER_MESSAGE, PER_BYTE_NANOS);
    SimulatedConsensus log = new SimulatedConsensus();
    for (int a = 0; a < 10; a++) {
      log.submitAsync(new Command.DeployApp(AppSpec.builder("app" + a).command("sleep 600").replicas(3).build(), 0), "deploy-" + a);
    }
    List<ChangeFeed> feeds = new ArrayList<>();
    List<DiscoveredPeer> serverPeers = new ArrayList<>();
    for (int s = 0; s < servers; s++) {
      String id = "server-" + s;
      Transport t = net.transport(id);
      ChangeFeed feed = new ChangeFeed(t, log, clock, Runnable::run, Runnable::run).capacity(serverFollowers);
      t.listen(id, 1, feed::handle);
      feeds.add(feed.start());
      serverPeers.add(new DiscoveredPeer(id, id, 1));
    }
    List<DiscoveredPeer> serverList = List.copyOf(serverPeers);
    FollowedLog[] followers = new FollowedLog[clients];
    long[] reachedAt = new long[clients];
    long[] want = {Long.MAX_VALUE};
    for (int c = 0; c < clients; c++) {
      String id = "client-" + c;
      Transport t = net.transport(id);
      FollowedLog follower = new FollowedLog(t, id, 1, () -> serverList, clock, Duration.ofSeconds(10), c);
      t.listen(id, 1, follower);
      int me = c;
      follower.onApplied(state -> {
        if (reachedAt[me] < 0 && followers[me].index() >= want[0]) {
          reachedAt[me] = net.nanos();
        }
      });
      followers[c] = follower;
    }
    // Every tick, at a per-node offset within it, as independent nodes' timers would be.
    long tick = TICK.toNanos();
    for (int s = 0; s < servers; s++) {
      ChangeFeed feed = feeds.get(s);
      repeat(net, tick * s / Math.max(1, servers), tick, feed::tick);
    }
    for (int c = 0; c < clients; c++) {
      FollowedLog follower = followers[c];
      repeat(net, tick * c / clients, tick, follower::tick);
    }
    net.runUntil(Duration.ofSeconds(10).toNanos());
    int deepest = 0;
    for (FollowedLog f : followers) {
      if (f.index() != log.index()) {
        throw new AssertionError("a client did not subscribe and catch up within 10 s of virtual time: at " + f.index() + " of " + log.index());
      }
      deepest = Math.max(deepest, f.hops());
    }
    long[][] before = counters(net, clients, servers);
    long measuredFrom = net.nanos();
    List<Long> reach = new ArrayList<>();
    long maxReach = 0;
    for (int k = 0; k < changes; k++) {
      Arrays.fill(reachedAt, -1);
      long committedAt = net.nanos();
      log.submitAsync(new Command.ScaleApp("app" + (k % 10), 1 + k % 5), "change-" + k);
      want[0] = log.index();
      // One change a second, or, when a change takes longer to reach everyone, the next once it has.
      long until = committedAt + Duration.ofSeconds(1).toNanos();
      net.runUntil(until);
      while (Arrays.stream(reachedAt).anyMatch(t -> t < 0)) {
        if (net.nanos() - committedAt > REACH_LIMIT.toNanos()) {
          throw new AssertionError("change " + k + " did not reach every client within " + REACH_LIMIT.toSeconds() + " s of virtual time");
        }
        until += Duration.ofMillis(100).toNanos();
        net.runUntil(until);
      }
      for (int c = 0; c < clients; c++) {
        long took = reachedAt[c] - committedAt;
        reach.add(took);
        maxReach = Math.max(maxReach, took);
      }
    }
    double seconds = (net.nanos() - measuredFrom) / 1e9;
    long[][] after = counters(net, clients, servers);
    long clientMessages = 0;
    long clientBytes = 0;
    long busiestClientNanos = 0;
    for (int c = 0; c < clients; c++) {
      clientMessages += after[c][2] - before[c][2];
      clientBytes += after[c][3] - before[c][3];
      busiestClientNanos = Math.max(busiestClientNanos, after[c][4] - before[c][4]);
    }
    long busiestMessages = 0;
    long busiestNanos = 0;
    for (int s = 0; s < servers; s++) {
      long[] a = after[clients + s];
      long[] b = before[clients + s];
      busiestMessages = Math.max(busiestMessages, a[0] - b[0] + a[2] - b[2]);
      busiestNanos = Math.max(busiestNanos, a[4] - b[4]);
    }
    reach.sort(null);
    return new Result(clients, servers, changes, reach.get(reach.size() / 2) / 1e6, reach.get((int) (reach.size() * 0.99)) / 1e6, maxReach / 1e6,
        clientMessages / (double) clients / changes, clientBytes / (double) clients / changes, busiestMessages / (double) clients / seconds,
        busiestNanos / 1e9 / seconds, deepest, busiestClientNanos / 1e9 / seconds);
  }

  static void repeat(EventNetwork net, long first, long every, Runnable action) {
    net.at(first, new Runnable() {
      private long next = first;

      @Override
      public void run() {
        action.run();
        next += every;
        net.at(next, this);
      }
    });
  }

  private static long[][] counters(EventNetwork net, int clients, int servers) {
    long[][] all = new long[clients + servers][];
    for (int c = 0; c < clients; c++) {
      all[c] = net.counters("client-" + c);
    }
    for (int s = 0; s < servers; s++) {
      all[clients + s] = net.counters("server-" + s);
    }
    return all;
  }
}
