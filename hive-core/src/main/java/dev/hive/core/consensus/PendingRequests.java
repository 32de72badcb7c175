package dev.hive.core.consensus;

import dev.hive.api.CommandStatus;
import dev.hive.api.NotFoundException;
import dev.hive.core.state.RequestLedger;
import java.time.Clock;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The deadlines of the requests this node submitted, so that it can tell "not decided yet" from
 * "never heard of" and knows when an undecided request can be settled. Kept as long as the
 * ledger keeps outcomes, and at most {@link RequestLedger#MAX_OUTCOMES}. Thread-safe.
 */
final class PendingRequests {
  private final Clock clock;
  private final Map<String, Long> deadlines = new LinkedHashMap<>();

  PendingRequests(Clock clock) {
    this.clock = clock;
  }

  synchronized void add(String id, long deadlineMillis) {
    long now = clock.millis();
    for (Iterator<Long> it = deadlines.values().iterator(); it.hasNext(); ) {
      long deadline = it.next();
      if (deadline + RequestLedger.RETENTION_MILLIS >= now && deadlines.size() < RequestLedger.MAX_OUTCOMES) {
        break;
      }
      it.remove();
    }
    deadlines.put(id, deadlineMillis);
  }

  /**
   * Returns the status of {@code id}: its outcome in {@code ledger}; else UNKNOWN while its
   * deadline has not passed; else what {@code settle} (given the deadline) makes of it.
   *
   * @throws NotFoundException if the ledger has no outcome and this node did not submit it
   */
  CommandStatus status(String id, Function<String, Optional<RequestLedger.Outcome>> ledger, SettleFunction settle) {
    Optional<RequestLedger.Outcome> outcome = ledger.apply(id);
    if (outcome.isPresent()) {
      return of(outcome.get());
    }
    Long deadline;
    synchronized (this) {
      deadline = deadlines.get(id);
    }
    if (deadline == null) {
      throw new NotFoundException("no command with request id '" + id + "' is known to this node; ask the node that took the write");
    }
    if (clock.millis() <= deadline) {
      return new CommandStatus(id, CommandStatus.State.UNKNOWN, 0, "");
    }
    return of(settle.settle(id, deadline));
  }

  /** Settles an undecided request whose deadline has passed and returns its final outcome. */
  interface SettleFunction {
    RequestLedger.Outcome settle(String id, long deadlineMillis);
  }

  static CommandStatus of(RequestLedger.Outcome o) {
    if (o.applied()) {
      return new CommandStatus(o.id(), CommandStatus.State.APPLIED, o.logIndex(), "");
    }
    return new CommandStatus(o.id(), CommandStatus.State.REFUSED, o.logIndex(), o.refusalException().getMessage());
  }
}
