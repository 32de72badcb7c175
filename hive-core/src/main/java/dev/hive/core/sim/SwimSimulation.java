package dev.hive.core.sim;

import dev.hive.api.NodeState;
import dev.hive.core.cluster.Member;
import dev.hive.core.cluster.SwimMembership;
import dev.hive.core.transport.memory.InMemoryNetwork;
import dev.hive.spi.Transport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * SWIM at scale in virtual time: N detectors on an in-memory network, one of them cut off, and
 * the clock stepped until every other node holds it DEAD. Reports how many protocol periods that
 * took and how many requests each node sent per period meanwhile.
 */
public final class SwimSimulation {
  private SwimSimulation() {}

  /** The outcome of one simulated death. */
  public record Result(int nodes, double periodsToAllDead, double requestsPerNodePerPeriod) {}

  public static Result simulate(int n, long seed) {
    VirtualClock clock = new VirtualClock(Instant.parse("2026-01-01T00:00:00Z"));
    InMemoryNetwork network = InMemoryNetwork.virtualTime();
    SwimMembership.Settings settings = SwimMembership.Settings.DEFAULTS.forVirtualTime();
    List<SwimMembership> nodes = new ArrayList<>();
    List<Member> all = new ArrayList<>();
    Random random = new Random(seed);
    for (int i = 0; i < n; i++) {
      String id = "n" + i;
      Transport t = network.transport(id);
      Member self = new Member(id, "sim", i + 1, 1, NodeState.ALIVE, clock.millis(), 0, Map.of());
      SwimMembership m = new SwimMembership(self, t, clock, settings, new Random(random.nextLong()), (a, b) -> {});
      t.listen("sim", i + 1, m.handler());
      nodes.add(m);
      all.add(self);
    }
    nodes.forEach(m -> m.learn(all));
    Duration step = Duration.ofMillis(50);
    // Warm up a few periods so probing is in its steady state.
    for (int i = 0; i < 40; i++) {
      clock.advance(step);
      nodes.forEach(SwimMembership::tick);
    }
    SwimMembership victim = nodes.get(n / 2);
    network.cutOff(victim.self().id());
    long sentBefore = nodes.stream().mapToLong(SwimMembership::requestsSent).sum();
    long start = clock.millis();
    long period = settings.protocolPeriod().toMillis();
    while (true) {
      clock.advance(step);
      nodes.forEach(SwimMembership::tick);
      String victimId = victim.self().id();
      boolean everyone = nodes.stream().filter(m -> m != victim).allMatch(m -> m.stateOf(victimId) == NodeState.DEAD);
      if (everyone) {
        break;
      }
      if (clock.millis() - start > 200 * period) {
        throw new AssertionError("the death did not reach every node in 200 periods");
      }
    }
    double periods = (clock.millis() - start) / (double) period;
    long sent = nodes.stream().mapToLong(SwimMembership::requestsSent).sum() - sentBefore;
    return new Result(n, periods, sent / ((n - 1) * periods));
  }

}
