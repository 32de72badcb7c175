package dev.hive.api;

/**
 * The root of Hive's one unchecked exception hierarchy. Every message says what was wrong and,
 * where there is one, the way out.
 */
public class HiveException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what was wrong and what to do about it
   */
  public HiveException(String message) {
    super(message);
  }

  /**
   * @param message what was wrong and what to do about it
   * @param cause the underlying failure
   */
  public HiveException(String message, Throwable cause) {
    super(message, cause);
  }
}
