package dev.hive.core.state;

import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The outcome of every recent request, by id: what makes a command apply at most once and a
 * late one never. Every replica applies the same requests in the same order to its ledger, so
 * every ledger holds the same outcomes; it is deterministic and does no I/O, like
 * {@link StateMachine}, and travels in snapshots with the state.
 *
 * <p>A request whose id has an outcome gets that outcome again and changes nothing (a retry). A
 * request the log's head took after its deadline is refused, and so is every later copy of it:
 * a caller told "timed out" can settle the question by asking, and the answer holds for good.
 * Outcomes are kept {@link #RETENTION_MILLIS} past their deadline, at most {@link #MAX_OUTCOMES}.
 *
 * <p>Not thread-safe: its owner applies requests one at a time.
 */
public final class RequestLedger {
  /** How long past its deadline a request's outcome is kept, for retries and status questions. */
  public static final long RETENTION_MILLIS = 15 * 60_000;
  /** Outcomes kept at most; beyond it the ones whose deadline is earliest go first. */
  public static final int MAX_OUTCOMES = 50_000;

  static final String EXPIRED = "request '%s' reached the log's head after its deadline and was not applied; it never will be";

  /** Returns true when {@code refusal} says its request reached the log after its deadline: asked again as a new request, it may apply. */
  public static boolean isExpiry(dev.hive.api.HiveException refusal) {
    String m = refusal.getMessage();
    String[] parts = EXPIRED.split("%s");
    return m != null && m.startsWith(parts[0]) && m.endsWith(parts[1]);
  }

  /**
   * What became of a request.
   *
   * @param id the request id
   * @param applied true when its command changed the state
   * @param logIndex the log index of the entry that decided it
   * @param refusal why it was refused ({@link Refusals} text), "" when applied
   * @param digest the request's digest; "" for a refusal that holds whatever a later copy says
   * @param deadlineMillis its deadline
   */
  public record Outcome(String id, boolean applied, long logIndex, String refusal, String digest, long deadlineMillis) {
    /** Returns the refusal as an exception, or null when applied. */
    public HiveException refusalException() {
      return applied ? null : Refusals.decode(refusal);
    }
  }

  /** The state after a request and what became of it; {@code repeated} when it had been decided before. */
  public record Result(ClusterState state, Outcome outcome, boolean repeated) {}

  private final Map<String, Outcome> byId = new HashMap<>();
  private final TreeSet<Outcome> byDeadline =
      new TreeSet<>(Comparator.comparingLong(Outcome::deadlineMillis).thenComparing(Outcome::id));

  /** Returns the recorded outcome of {@code id}, if it is still kept. */
  public Optional<Outcome> outcome(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  /**
   * Returns the outcomes kept, ordered by deadline, then id: the order they are already kept in,
   * so a snapshot of tens of thousands of them needs no sort.
   */
  public List<Outcome> outcomes() {
    return List.copyOf(byDeadline);
  }

  /** Returns how many outcomes are kept. */
  public int size() {
    return byId.size();
  }

  /**
   * Applies {@code request} at {@code logIndex}: a repeated id gets its first outcome; an
   * expired request is refused; otherwise its command is applied to {@code state}. A request
   * without an id (an entry from before ids) is applied and not recorded.
   *
   * @throws ConflictException if the id was used for a request that says something else; nothing
   *     changes
   * @throws HiveException a refusal of a request without an id, as {@link StateMachine#apply} throws it
   */
  public Result apply(ClusterState state, Request request, long logIndex) {
    if (request.id() == null) {
      return new Result(StateMachine.apply(state, request.command()), null, false);
    }
    forgetOld(request.stampMillis());
    Outcome seen = byId.get(request.id());
    if (seen != null) {
      if (!seen.digest().isEmpty() && !seen.digest().equals(request.digest())) {
        throw new ConflictException("request id '" + request.id() + "' was already used for a different request; give a new request a new"
            + " id (Idempotency-Key)");
      }
      return new Result(state, seen, true);
    }
    boolean settle = request.command() instanceof Command.SettleRequest;
    if (request.expired()) {
      String why = Refusals.encode(new HiveException(String.format(EXPIRED, request.id())));
      return new Result(state, record(new Outcome(request.id(), false, logIndex, why, "", request.deadlineMillis())), false);
    }
    if (settle) {
      // Asked before the deadline: the request may still arrive, so nothing is decided yet.
      throw new HiveException("request '" + request.id() + "' is undecided until its deadline has passed");
    }
    try {
      ClusterState after = StateMachine.apply(state, request.command());
      return new Result(after, record(new Outcome(request.id(), true, logIndex, "", request.digest(), request.deadlineMillis())), false);
    } catch (HiveException e) {
      return new Result(state, record(new Outcome(request.id(), false, logIndex, Refusals.encode(e), request.digest(), request.deadlineMillis())), false);
    }
  }

  private Outcome record(Outcome outcome) {
    byId.put(outcome.id(), outcome);
    byDeadline.add(outcome);
    while (byId.size() > MAX_OUTCOMES) {
      byId.remove(byDeadline.pollFirst().id());
    }
    return outcome;
  }

  /** Drops outcomes kept long enough, by the time in the log (not a clock), so that every replica drops the same ones. */
  private void forgetOld(long nowMillis) {
    while (!byDeadline.isEmpty() && byDeadline.first().deadlineMillis() + RETENTION_MILLIS < nowMillis) {
      byId.remove(byDeadline.pollFirst().id());
    }
  }

  /** Replaces what this ledger holds with {@code outcomes} (a snapshot being loaded). */
  public void reset(List<Outcome> outcomes) {
    byId.clear();
    byDeadline.clear();
    outcomes.forEach(this::record);
  }
}
