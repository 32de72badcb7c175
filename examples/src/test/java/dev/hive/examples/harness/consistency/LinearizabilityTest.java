package dev.hive.examples.harness.consistency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.examples.harness.consistency.Linearizability.Checked;
import dev.hive.examples.harness.consistency.Op.Kind;
import dev.hive.examples.harness.consistency.Op.Outcome;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinearizabilityTest {
  private static Checked op(Kind kind, Integer value, long from, long to, Outcome outcome) {
    return new Checked(new Op(0, kind, "a", value, kind == Kind.READ ? null : "r" + from, "n", from, to, outcome, null), outcome == Outcome.UNKNOWN);
  }

  private static Checked ok(Kind kind, Integer value, long from, long to) {
    return op(kind, value, from, to, Outcome.OK);
  }

  @Test
  void sequentialHistoriesFollowTheRegister() {
    assertThat(Linearizability.check(List.of(ok(Kind.DEPLOY, 2, 0, 1), ok(Kind.READ, 2, 2, 3), ok(Kind.SCALE, 3, 4, 5), ok(Kind.READ, 3, 6, 7),
        ok(Kind.DELETE, null, 8, 9), ok(Kind.READ, null, 10, 11)))).isTrue();
    // A read of a value that was overwritten before it began: a stale read.
    assertThat(Linearizability.check(List.of(ok(Kind.DEPLOY, 2, 0, 1), ok(Kind.SCALE, 3, 2, 3), ok(Kind.READ, 2, 4, 5)))).isFalse();
    // Scaling an app that was never deployed cannot have succeeded.
    assertThat(Linearizability.check(List.of(ok(Kind.SCALE, 3, 0, 1)))).isFalse();
  }

  @Test
  void overlappingOperationsMayTakeEffectInEitherOrder() {
    // The read overlaps the scale: it may see the old or the new value.
    assertThat(Linearizability.check(List.of(ok(Kind.DEPLOY, 1, 0, 1), ok(Kind.SCALE, 5, 2, 10), ok(Kind.READ, 1, 3, 4), ok(Kind.READ, 5, 5, 6))))
        .isTrue();
    // But once a read saw the new value, a later read cannot see the old one.
    assertThat(Linearizability.check(List.of(ok(Kind.DEPLOY, 1, 0, 1), ok(Kind.SCALE, 5, 2, 10), ok(Kind.READ, 5, 3, 4), ok(Kind.READ, 1, 5, 6))))
        .isFalse();
  }

  @Test
  void aRefusedWriteNeverHappensAndAnUnknownOneMayOrMayNot() {
    List<Checked> refusedThenSeen = List.of(ok(Kind.DEPLOY, 1, 0, 1), op(Kind.SCALE, 7, 2, 3, Outcome.FAIL), ok(Kind.READ, 7, 4, 5));
    assertThat(Linearizability.check(refusedThenSeen)).as("a refused write that shows up later: resurrected").isFalse();
    List<Checked> unknownSeen = List.of(ok(Kind.DEPLOY, 1, 0, 1), op(Kind.SCALE, 7, 2, 3, Outcome.UNKNOWN), ok(Kind.READ, 7, 40, 50));
    assertThat(Linearizability.check(unknownSeen)).isTrue();
    List<Checked> unknownNotSeen = List.of(ok(Kind.DEPLOY, 1, 0, 1), op(Kind.SCALE, 7, 2, 3, Outcome.UNKNOWN), ok(Kind.READ, 1, 40, 50));
    assertThat(Linearizability.check(unknownNotSeen)).isTrue();
    // Learnt at 30 to have applied (its status said so): it took effect by then, and reads after it must show it.
    Checked applied = new Checked(new Op(0, Kind.SCALE, "a", 7, "x", "n", 2, 30, Outcome.OK, null), false);
    assertThat(Linearizability.check(List.of(ok(Kind.DEPLOY, 1, 0, 1), applied, ok(Kind.READ, 1, 4, 5), ok(Kind.READ, 7, 40, 50)))).isTrue();
    assertThat(Linearizability.check(List.of(ok(Kind.DEPLOY, 1, 0, 1), applied, ok(Kind.READ, 1, 40, 50)))).isFalse();
  }

  @Test
  void aLongConcurrentHistoryIsCheckedQuickly() {
    // Five clients, each scaling then reading back its own value, all overlapping pairwise in rounds.
    List<Checked> ops = new ArrayList<>(List.of(ok(Kind.DEPLOY, 0, 0, 1)));
    long t = 10;
    for (int round = 0; round < 400; round++) {
      for (int client = 0; client < 5; client++) {
        ops.add(ok(Kind.SCALE, client, t + client, t + 20 + client));
      }
      ops.add(ok(Kind.READ, 4, t + 30, t + 31));
      t += 100;
    }
    long start = System.nanoTime();
    assertThat(Linearizability.check(ops)).isTrue();
    ops.add(ok(Kind.READ, 3, t + 5, t + 6));
    assertThat(Linearizability.check(ops)).isFalse();
    assertThat(System.nanoTime() - start).as("no exponential blow-up").isLessThan(20_000_000_000L);
  }
}
