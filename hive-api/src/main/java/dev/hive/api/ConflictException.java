package dev.hive.api;

/** The request contradicts the current state, such as deploying an app whose name is taken. */
public class ConflictException extends HiveException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what it conflicts with and what to do instead
   */
  public ConflictException(String message) {
    super(message);
  }
}
