package dev.hive.core.follow;

import static dev.hive.core.fuzz.Refusal.decodesOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hive.api.HiveException;
import dev.hive.core.follow.FollowWire.Update;

/**
 * What a server or a client reads from the other while following: updates, subscriptions,
 * questions, answers and acknowledgements. Each reads or is refused with a {@link HiveException}
 * that says why; an update that reads writes back to the same update, and its changes are in
 * index order within it.
 */
class FollowWireFuzzTest {
  @FuzzTest
  void messages(byte[] bytes) {
    Update update = decodesOrRefuses(bytes, HiveException.class, () -> FollowWire.decodeUpdate(bytes));
    if (update != null) {
      Update again = FollowWire.decodeUpdate(FollowWire.encode(update));
      assertThat(again.index()).isEqualTo(update.index());
      assertThat(again.after()).isEqualTo(update.after());
      assertThat(again.changes()).hasSameSizeAs(update.changes());
      long previous = update.after();
      for (FollowWire.Change c : update.changes()) {
        assertThat(c.index()).isGreaterThan(previous).isLessThanOrEqualTo(update.index());
        previous = c.index();
      }
    }
    decodesOrRefuses(bytes, HiveException.class, () -> FollowWire.decodeSubscribe(bytes));
    decodesOrRefuses(bytes, HiveException.class, () -> FollowWire.decodeAsk(bytes));
    decodesOrRefuses(bytes, HiveException.class, () -> FollowWire.decodeAnswer(bytes));
    decodesOrRefuses(bytes, HiveException.class, () -> FollowWire.decodeIndex(bytes));
  }
}
