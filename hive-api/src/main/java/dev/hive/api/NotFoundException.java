package dev.hive.api;

/** The named app, instance or node does not exist. */
public class NotFoundException extends HiveException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message which thing was looked for, and where to find what exists
   */
  public NotFoundException(String message) {
    super(message);
  }
}
