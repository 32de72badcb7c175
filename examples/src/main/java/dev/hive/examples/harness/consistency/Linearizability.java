package dev.hive.examples.harness.consistency;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Checks that one app's history is linearizable: that some order of its operations, each placed
 * between its invocation and its completion, is a legal sequence of a register that holds a
 * replica count or nothing (no app). Wing and Gong's search with Lowe's memo of (operations
 * linearized, state), as Knossos and Porcupine do it.
 *
 * <p>Failed operations never happened and are left out. An operation whose outcome stayed
 * unknown completes at infinity and may take effect or not. (One whose request id's status was
 * later APPLIED is given as OK, completed when that status was read: it took effect by then.)
 */
public final class Linearizability {
  private Linearizability() {}

  /** An operation as the search sees it: whether an unknown one must take effect. */
  public record Checked(Op op, boolean optional) {}

  private static final class Entry {
    final int id;
    final boolean call;
    final Checked op;
    final long time;
    Entry match;
    Entry prev;
    Entry next;

    Entry(int id, boolean call, Checked op, long time) {
      this.id = id;
      this.call = call;
      this.op = op;
      this.time = time;
    }
  }

  private record Memo(BitSet linearized, Integer state) {}

  private record Frame(Entry call, Integer before, int choice) {}

  /**
   * Returns true when the operations of one app are linearizable from "no app".
   *
   * @param ops the app's operations; FAIL ones are ignored
   */
  public static boolean check(List<Checked> ops) {
    List<Entry> entries = new ArrayList<>();
    int id = 0;
    for (Checked c : ops) {
      if (c.op().outcome() == Op.Outcome.FAIL) {
        continue;
      }
      Entry call = new Entry(id, true, c, c.op().invokeNanos());
      Entry ret = new Entry(id, false, c, c.op().outcome() == Op.Outcome.UNKNOWN ? Long.MAX_VALUE : c.op().completeNanos());
      call.match = ret;
      entries.add(call);
      entries.add(ret);
      id++;
    }
    // By time; at a tie a call comes first, so that the operations count as overlapping.
    entries.sort(Comparator.comparingLong((Entry e) -> e.time).thenComparing(e -> !e.call));
    Entry head = new Entry(-1, false, null, Long.MIN_VALUE);
    Entry last = head;
    for (Entry e : entries) {
      last.next = e;
      e.prev = last;
      last = e;
    }
    Set<Memo> cache = new HashSet<>();
    Deque<Frame> stack = new ArrayDeque<>();
    BitSet linearized = new BitSet();
    Integer state = null;
    Entry entry = head.next;
    int startChoice = 0;
    while (head.next != null) {
      if (entry != null && entry.call) {
        List<Integer> next = step(state, entry.op);
        boolean moved = false;
        for (int i = startChoice; i < next.size(); i++) {
          BitSet after = (BitSet) linearized.clone();
          after.set(entry.id);
          if (cache.add(new Memo(after, next.get(i)))) {
            stack.push(new Frame(entry, state, i));
            state = next.get(i);
            linearized = after;
            lift(entry);
            entry = head.next;
            moved = true;
            break;
          }
        }
        startChoice = 0;
        if (!moved) {
          entry = entry.next;
        }
      } else {
        // A completion reached before its operation took effect (or the end, past calls that could
        // not go next): done if only optional operations are left, else undo the last choice.
        if ((entry == null || entry.time == Long.MAX_VALUE) && onlyOptionalLeft(head)) {
          return true;
        }
        if (stack.isEmpty()) {
          return false;
        }
        Frame f = stack.pop();
        state = f.before();
        linearized.clear(f.call().id);
        unlift(f.call());
        entry = f.call();
        startChoice = f.choice() + 1;
      }
    }
    return true;
  }

  private static boolean onlyOptionalLeft(Entry head) {
    for (Entry e = head.next; e != null; e = e.next) {
      if (!e.op.optional()) {
        return false;
      }
    }
    return true;
  }

  /** The states an operation can leave, from {@code state}; none when it cannot happen there. */
  private static List<Integer> step(Integer state, Checked c) {
    Op op = c.op();
    Integer after;
    boolean legal;
    switch (op.kind()) {
      case DEPLOY -> {
        legal = state == null;
        after = op.value();
      }
      case SCALE -> {
        legal = state != null;
        after = op.value();
      }
      case DELETE -> {
        legal = state != null;
        after = null;
      }
      case READ -> {
        legal = Objects.equals(state, op.value());
        after = state;
      }
      default -> throw new IllegalArgumentException(op.kind().toString());
    }
    List<Integer> states = new ArrayList<>(2);
    if (legal) {
      states.add(after);
    }
    if (c.optional() && !(legal && Objects.equals(after, state))) {
      // An unknown write may also have been refused: it leaves the state as it was.
      states.add(state);
    }
    return states;
  }

  private static void lift(Entry call) {
    call.prev.next = call.next;
    if (call.next != null) {
      call.next.prev = call.prev;
    }
    Entry ret = call.match;
    ret.prev.next = ret.next;
    if (ret.next != null) {
      ret.next.prev = ret.prev;
    }
  }

  private static void unlift(Entry call) {
    Entry ret = call.match;
    ret.prev.next = ret;
    if (ret.next != null) {
      ret.next.prev = ret;
    }
    call.prev.next = call;
    if (call.next != null) {
      call.next.prev = call;
    }
  }
}
