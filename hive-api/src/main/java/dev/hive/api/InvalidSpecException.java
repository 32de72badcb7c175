package dev.hive.api;

/**
 * An input was refused before anything was written: a spec field, an API argument or a request
 * body. {@link #field()} names the input at fault.
 */
public class InvalidSpecException extends HiveException {
  private static final long serialVersionUID = 1L;

  private final String field;

  /**
   * @param field the name of the input at fault, as the user spelled it (e.g. {@code replicas})
   * @param message what was wrong with it and what is accepted
   */
  public InvalidSpecException(String field, String message) {
    super(field + ": " + message);
    this.field = field;
  }

  /** Returns the name of the input at fault. */
  public String field() {
    return field;
  }

  /** Returns the explanation without the field prefix. */
  public String reason() {
    return getMessage().substring(field.length() + 2);
  }
}
