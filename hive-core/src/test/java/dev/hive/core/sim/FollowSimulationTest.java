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
}
