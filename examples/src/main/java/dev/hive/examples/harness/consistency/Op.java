package dev.hive.examples.harness.consistency;

/**
 * One operation in a history: a client's write or read of one app's replica count, from its
 * invocation to its completion.
 *
 * @param process the client that ran it
 * @param kind what it did
 * @param app the app it concerns
 * @param value the replica count written or read; null for a delete, or a read that found no app
 * @param requestId the write's request id (its Idempotency-Key); null for a read
 * @param node the node it was sent to
 * @param invokeNanos when it was sent (the harness's clock)
 * @param completeNanos when its answer came ({@link Long#MAX_VALUE} while unknown)
 * @param outcome what the answer said
 * @param error the error's text, for a failed or unknown operation
 */
public record Op(int process, Kind kind, String app, Integer value, String requestId, String node, long invokeNanos, long completeNanos,
    Outcome outcome, String error) {
  /** What an operation does to an app's replica count, read as a register that may be absent. */
  public enum Kind {
    /** Creates the app with {@code value} replicas; refused when it exists. */
    DEPLOY,
    /** Sets the replicas of an existing app. */
    SCALE,
    /** Removes an existing app. */
    DELETE,
    /** Reads the replicas, or that there is no such app (a linearizable read). */
    READ
  }

  /** What the client learnt. */
  public enum Outcome {
    /** It happened (a write acknowledged, a read answered). */
    OK,
    /** It did not happen and never will (refused). */
    FAIL,
    /** It may have happened: no answer, or an answer that said so. */
    UNKNOWN
  }

  /** Returns this operation completed at {@code nanos} with {@code outcome}. */
  public Op completed(long nanos, Outcome outcome, Integer observed, String error) {
    return new Op(process, kind, app, kind == Kind.READ ? observed : value, requestId, node, invokeNanos, nanos, outcome, error);
  }

  /** Returns true for a write. */
  public boolean write() {
    return kind != Kind.READ;
  }
}
