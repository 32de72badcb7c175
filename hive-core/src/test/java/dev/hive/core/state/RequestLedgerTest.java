package dev.hive.core.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestLedgerTest {
  private final StateCodec codec = new StateCodec();
  private final RequestLedger ledger = new RequestLedger();

  private Request request(String id, long deadline, long stamp, Command command) {
    return new Request(id, deadline, stamp, codec.digest(command), command);
  }

  private ClusterState withNode() {
    return ledger.apply(ClusterState.EMPTY, request("n", 1000, 1, new Command.RegisterNode(StateMachineTest.NODE)), 1).state();
  }

  @Test
  void aRepeatedIdGetsItsFirstOutcomeAndChangesNothing() {
    ClusterState s = withNode();
    Command deploy = new Command.DeployApp(StateMachineTest.web(2), 10);
    RequestLedger.Result first = ledger.apply(s, request("d", 1000, 2, deploy), 2);
    assertThat(first.outcome().applied()).isTrue();
    assertThat(first.repeated()).isFalse();
    // The same deploy retried later with the same id, its timestamp moved on: not a conflict, not twice.
    RequestLedger.Result again = ledger.apply(first.state(), request("d", 2000, 900, new Command.DeployApp(StateMachineTest.web(2), 20)), 7);
    assertThat(again.repeated()).isTrue();
    assertThat(again.state()).isSameAs(first.state());
    assertThat(again.outcome().logIndex()).isEqualTo(2);
  }

  @Test
  void aReusedIdWithAnotherCommandIsRefusedAndChangesNothing() {
    ClusterState s = withNode();
    ClusterState deployed = ledger.apply(s, request("k", 1000, 2, new Command.DeployApp(StateMachineTest.web(2), 10)), 2).state();
    assertThatThrownBy(() -> ledger.apply(deployed, request("k", 1000, 3, new Command.ScaleApp("web", 5)), 3))
        .isInstanceOf(ConflictException.class).hasMessageContaining("request id 'k' was already used for a different request");
    assertThat(ledger.outcome("k").orElseThrow().applied()).isTrue();
  }

  @Test
  void aRequestStampedAfterItsDeadlineIsRefusedForGood() {
    ClusterState s = withNode();
    RequestLedger.Result late = ledger.apply(s, request("late", 100, 101, new Command.DeployApp(StateMachineTest.web(1), 0)), 2);
    assertThat(late.outcome().applied()).isFalse();
    assertThat(late.state()).isSameAs(s);
    assertThat(late.outcome().refusalException()).isInstanceOf(HiveException.class).hasMessageContaining("after its deadline");
    // A node's start asks such a write again as a new request: it tells this refusal from others.
    assertThat(RequestLedger.isExpiry(late.outcome().refusalException())).isTrue();
    assertThat(RequestLedger.isExpiry(new HiveException("app 'web' already exists"))).isFalse();
    // A copy that reaches the log later, whatever it says, meets the same refusal.
    RequestLedger.Result copy = ledger.apply(s, request("late", 100, 50, new Command.DeployApp(StateMachineTest.web(1), 0)), 3);
    assertThat(copy.repeated()).isTrue();
    assertThat(copy.outcome().applied()).isFalse();
  }

  @Test
  void settlingAfterTheDeadlineDecidesBeforeALateArrivalAndNeverBefore() {
    ClusterState s = withNode();
    Command scale = new Command.ScaleApp("web", 3);
    ClusterState deployed = ledger.apply(s, request("d", 1000, 2, new Command.DeployApp(StateMachineTest.web(1), 0)), 2).state();
    assertThatThrownBy(() -> ledger.apply(deployed, new Request("s", 500, 400, "", new Command.SettleRequest()), 3))
        .hasMessageContaining("undecided until its deadline");
    assertThat(ledger.outcome("s")).isEmpty();
    RequestLedger.Result settled = ledger.apply(deployed, new Request("s", 500, 501, "", new Command.SettleRequest()), 4);
    assertThat(settled.outcome().applied()).isFalse();
    // The original, appended by an old leader before its deadline, reaches the log after the settling entry: refused.
    RequestLedger.Result original = ledger.apply(deployed, request("s", 500, 450, scale), 5);
    assertThat(original.outcome().applied()).isFalse();
    assertThat(original.state().apps().get("web").spec().replicas()).isEqualTo(1);
  }

  @Test
  void outcomesAreForgottenByTheLogsTimeAndTravelInSnapshots() {
    ClusterState s = withNode();
    ledger.apply(s, request("old", 1000, 2, new Command.ScaleApp("missing", 1)), 2);
    assertThat(ledger.outcome("old").orElseThrow().refusalException()).hasMessageContaining("no app named 'missing'");
    byte[] snapshot = codec.encode(s, ledger.outcomes());
    RequestLedger copy = new RequestLedger();
    copy.reset(codec.decodeOutcomes(snapshot));
    assertThat(copy.outcomes()).isEqualTo(ledger.outcomes());
    ledger.apply(s, request("new", 1000 + RequestLedger.RETENTION_MILLIS + 10, 1001 + RequestLedger.RETENTION_MILLIS, new Command.RestartApp("x")), 3);
    assertThat(ledger.outcome("old")).isEmpty();
    assertThat(ledger.outcomes()).extracting(RequestLedger.Outcome::id).containsExactly("new");
  }

  @Test
  void anEntryFromBeforeIdsIsAppliedAndNotRecorded() {
    byte[] legacy = codec.encode(new Command.RegisterNode(StateMachineTest.NODE));
    Request r = codec.decodeRequest(legacy);
    assertThat(r.id()).isNull();
    assertThat(ledger.apply(ClusterState.EMPTY, r, 1).state().nodes()).containsKey("n1");
    assertThat(ledger.outcomes()).isEqualTo(List.of());
  }

  @Test
  void aBatchOfRequestsTravelsAsOneEntryAndASingleOneAsBefore() {
    Request deploy = request("d", 1000, 2, new Command.DeployApp(StateMachineTest.web(2), 10));
    Request scale = request("s", 1000, 3, new Command.ScaleApp("web", 3));
    assertThat(codec.decodeRequests(codec.encodeRequests(List.of(deploy, scale)))).containsExactly(deploy, scale);
    // One request is encoded as entries were before batches, and a legacy entry decodes as one.
    assertThat(codec.encodeRequests(List.of(deploy))).isEqualTo(codec.encode(deploy));
    assertThat(codec.decodeRequests(codec.encode(new Command.ScaleApp("web", 1)))).hasSize(1);
  }

  @Test
  void aBatchThatIsEmptyOrHoldsSomethingElseIsRefusedWhole() {
    assertThatThrownBy(() -> codec.encodeRequests(List.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> codec.decodeRequests("[]".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isInstanceOf(HiveException.class)
        .hasMessageContaining("empty");
    byte[] good = codec.encode(request("d", 1000, 2, new Command.ScaleApp("web", 3)));
    byte[] mixed = ("[" + new String(good, java.nio.charset.StandardCharsets.UTF_8) + ",{\"type\":\"nonsense\"}]")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertThatThrownBy(() -> codec.decodeRequests(mixed)).isInstanceOf(HiveException.class);
  }
}
