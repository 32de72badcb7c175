package dev.hive.core.state;

import static dev.hive.core.fuzz.Refusal.decodesOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hive.api.HiveException;
import java.util.List;

/**
 * The command log's entries and snapshots, which reach a node from its peers through the Raft log
 * and snapshot installs: any bytes either decode or are refused with a {@link HiveException}
 * saying what is wrong. A NullPointerException here would stop a follower applying the log. What
 * decodes encodes back to the same value.
 */
class StateCodecFuzzTest {
  private static final StateCodec CODEC = new StateCodec();

  @FuzzTest
  @DictionaryEntries({"\"type\"", "\"register-node\"", "\"deploy-app\"", "\"scale-app\"", "\"restart-app\"", "\"delete-app\"",
      "\"assign-slots\"", "\"unassign-slots\"", "\"restart-slot\"", "\"report-ready\"", "\"set-draining\"", "\"set-pending-reason\"",
      "\"create-vm\"", "\"delete-vm\"", "\"start-migration\"", "\"finish-migration\"", "\"create-token\"", "\"revoke-token\"",
      "\"settle-request\"", "\"node\"", "\"spec\"", "\"atMillis\"", "\"app\"", "\"replicas\"", "\"assignments\"", "\"from\"", "\"avoid\"",
      "\"ordinal\"", "\"generation\"", "\"ready\"", "\"draining\"", "\"reason\"", "\"vm\"", "\"migration\"", "\"id\"", "\"state\"",
      "\"totalMs\"", "\"downtimeMs\"", "\"bytes\"", "\"error\"", "\"token\"", "\"bootstrap\"", "\"name\"", "\"requestId\"",
      "\"deadlineMillis\"", "\"stampMillis\"", "\"digest\"", "\"labels\"", "\"runtimes\"", "\"address\"", "\"cpus\"", "\"memoryBytes\"",
      "\"startedAtMillis\"", "\"role\"", "\"sha256\"", "\"createdAtMillis\"", "\"expiresAtMillis\"", "\"mode\"", "\"source\"",
      "\"LIVE\"", "\"SUCCEEDED\"", "\"command\""})
  void commands(byte[] entry) {
    Command command = decodesOrRefuses(entry, HiveException.class, () -> CODEC.decodeCommand(entry));
    if (command != null) {
      assertThat(CODEC.decodeCommand(CODEC.encode(command))).as("the command read back from its encoding").isEqualTo(command);
    }
    List<Request> requests = decodesOrRefuses(entry, HiveException.class, () -> CODEC.decodeRequests(entry));
    if (requests != null) {
      assertThat(requests).isNotEmpty();
      assertThat(CODEC.decodeRequests(CODEC.encodeRequests(requests))).as("the requests read back from their encoding").isEqualTo(requests);
    }
  }

  @FuzzTest
  @DictionaryEntries({"\"index\"", "\"nodes\"", "\"apps\"", "\"vms\"", "\"migrations\"", "\"tokens\"", "\"bootstrapTokenIssued\"",
      "\"requests\"", "\"spec\"", "\"generation\"", "\"createdAtMillis\"", "\"pendingReason\"", "\"slots\"", "\"node\"", "\"ready\"",
      "\"avoid\"", "\"migration\"", "\"id\"", "\"applied\"", "\"logIndex\"", "\"refusal\"", "\"digest\"", "\"deadlineMillis\"",
      "\"labels\"", "\"runtimes\"", "\"name\"", "\"address\"", "\"cpus\"", "\"memoryBytes\"", "\"startedAtMillis\"", "\"taints\"",
      "\"draining\"", "\"vmRuntime\"", "\"role\"", "\"sha256\"", "\"expiresAtMillis\"", "\"vm\"", "\"mode\"", "\"source\"", "\"target\"",
      "\"state\"", "\"finishedAtMillis\"", "\"totalMs\"", "\"downtimeMs\"", "\"bytes\"", "\"error\"", "\"command\""})
  void snapshots(byte[] snapshot) {
    ClusterState state = decodesOrRefuses(snapshot, HiveException.class, () -> CODEC.decodeState(snapshot));
    List<RequestLedger.Outcome> outcomes = decodesOrRefuses(snapshot, HiveException.class, () -> CODEC.decodeOutcomes(snapshot));
    if (state != null && outcomes != null) {
      byte[] again = CODEC.encode(state, outcomes);
      assertThat(CODEC.decodeState(again)).as("the state read back from its encoding").isEqualTo(state);
      assertThat(CODEC.decodeOutcomes(again)).as("the outcomes read back from their encoding").isEqualTo(outcomes);
    }
  }
}
