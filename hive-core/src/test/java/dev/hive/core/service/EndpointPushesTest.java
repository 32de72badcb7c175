package dev.hive.core.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.NodeState;
import dev.hive.core.cluster.Member;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointPushesTest {
  private final EndpointPushes pushes = new EndpointPushes("a");

  private static Member member(String id, NodeState state) {
    return new Member(id, "127.0.0.1", 7000, 1, state, 0, 0, Map.of());
  }

  private static List<String> ids(List<Member> members) {
    return members.stream().map(Member::id).toList();
  }

  @Test
  void aVersionEveryLiveMemberTookIsNotSentAgain() {
    List<Member> members = List.of(member("a", NodeState.ALIVE), member("b", NodeState.ALIVE), member("c", NodeState.ALIVE),
        member("d", NodeState.SUSPECT));
    assertThat(ids(pushes.due(members, 7))).as("not to itself, not to a suspect").containsExactly("b", "c");
    assertThat(pushes.due(members, 7)).as("b and c are being sent it").isEmpty();
    pushes.done("b", 7, true);
    pushes.done("c", 7, true);
    assertThat(pushes.due(members, 7)).as("the next sync interval: every live member has it").isEmpty();
    assertThat(ids(pushes.due(members, 8))).as("a change goes to all").containsExactly("b", "c");
  }

  @Test
  void aFailedPushIsRetriedAndAMemberThatCameBackIsSentItAgain() {
    List<Member> alive = List.of(member("b", NodeState.ALIVE), member("c", NodeState.ALIVE));
    pushes.due(alive, 7);
    pushes.done("b", 7, true);
    pushes.done("c", 7, false);
    assertThat(ids(pushes.due(alive, 7))).containsExactly("c");
    pushes.done("c", 7, true);
    pushes.due(List.of(member("b", NodeState.DEAD), member("c", NodeState.ALIVE)), 7);
    assertThat(ids(pushes.due(alive, 7))).as("b was DEAD and is back").containsExactly("b");
  }

  @Test
  void aLateAcknowledgementOfAnOlderVersionDoesNotUndoANewerOne() {
    List<Member> alive = List.of(member("b", NodeState.ALIVE));
    pushes.due(alive, 7);
    pushes.done("b", 8, true);
    pushes.done("b", 7, true);
    assertThat(pushes.due(alive, 8)).isEmpty();
  }
}
