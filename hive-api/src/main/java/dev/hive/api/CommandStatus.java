package dev.hive.api;

import java.util.Objects;

/**
 * What became of a write, by its request id.
 *
 * @param requestId the write's request id
 * @param state applied, refused, or not known yet
 * @param logIndex the index of the log entry that decided it; 0 while unknown
 * @param reason why it was refused; empty otherwise
 */
public record CommandStatus(String requestId, State state, long logIndex, String reason) {
  /** The outcome of a write. */
  public enum State {
    /** It changed the state, once. */
    APPLIED,
    /** It was refused and never applies: by the state, or because its deadline passed first. */
    REFUSED,
    /** Its deadline has not passed and no outcome has reached this node yet. */
    UNKNOWN
  }

  public CommandStatus {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(reason, "reason");
  }
}
