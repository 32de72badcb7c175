package dev.hive.api;

/**
 * A part Hive needs cannot be used here: no provider of a plugin works, a daemon is not reachable,
 * or the cluster is closed.
 */
public class UnavailableException extends HiveException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what is unavailable and how to make it available
   */
  public UnavailableException(String message) {
    super(message);
  }

  /**
   * @param message what is unavailable and how to make it available
   * @param cause the underlying failure
   */
  public UnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
