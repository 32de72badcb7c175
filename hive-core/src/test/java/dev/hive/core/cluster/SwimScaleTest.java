package dev.hive.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.core.sim.SwimSimulation;
import dev.hive.core.sim.SwimSimulation.Result;
import org.junit.jupiter.api.Test;

/**
 * SWIM at scale in virtual time: a death reaches every node within O(log N) protocol periods, and
 * each node sends a constant number of requests per period whatever N. The 1,000-node run is
 * {@code dev.hive.benchmarks.SwimSimulation}; this test keeps CI quick with 64 and 256 nodes.
 */
class SwimScaleTest {
  @Test
  void aDeathSpreadsInLogarithmicPeriodsWithConstantMessagesPerNode() {
    Result small = SwimSimulation.simulate(64, 1);
    Result large = SwimSimulation.simulate(256, 2);
    // Detection is bounded by the suspicion timeout (grows with log10 N) plus dissemination (log N periods).
    assertThat(small.periodsToAllDead()).isLessThan(4 * Math.log(64) / Math.log(2));
    assertThat(large.periodsToAllDead()).isLessThan(4 * Math.log(256) / Math.log(2));
    // Four times the nodes: the per-node message rate stays put (ping + rare ping-req + sync).
    assertThat(small.requestsPerNodePerPeriod()).isBetween(0.9, 2.0);
    assertThat(large.requestsPerNodePerPeriod()).isBetween(0.9, 2.0);
    assertThat(Math.abs(large.requestsPerNodePerPeriod() - small.requestsPerNodePerPeriod())).isLessThan(0.3);
  }
}
