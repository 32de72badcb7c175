package dev.hive.api;

/**
 * A write was sent but its outcome is not known here: no answer came before its deadline, or the
 * answer has not reached this node yet. It may have been applied; once its deadline has passed
 * it can be settled with {@link Cluster#commandStatus(String)} (or {@code GET
 * /api/v1/commands/{id}}), and a write that was not applied by then never will be.
 */
public class OutcomeUnknownException extends UnavailableException {
  private static final long serialVersionUID = 1L;

  private final String requestId;

  /**
   * @param requestId the write's request id
   * @param message what happened and how to learn the outcome
   */
  public OutcomeUnknownException(String requestId, String message) {
    super(message);
    this.requestId = requestId;
  }

  /** Returns the request id of the write whose outcome is unknown. */
  public String requestId() {
    return requestId;
  }
}
