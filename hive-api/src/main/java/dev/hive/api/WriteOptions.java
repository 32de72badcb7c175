package dev.hive.api;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Options of one write: the request id that makes a retry of it apply at most once. Immutable.
 *
 * <pre>{@code
 * cluster.apps().deploy(spec, WriteOptions.requestId("deploy-web-42"));
 * }</pre>
 */
public final class WriteOptions {
  /** No options: the write gets a fresh request id. */
  public static final WriteOptions DEFAULTS = new WriteOptions(null);

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private final String requestId;

  private WriteOptions(String requestId) {
    this.requestId = requestId;
  }

  /**
   * Returns options that give the write the request id {@code id}: sending the same write again
   * with it returns the first outcome instead of applying it twice.
   *
   * @throws InvalidSpecException if {@code id} is not 1-128 characters of letters, digits, '.', '_', ':' or '-'
   */
  public static WriteOptions requestId(String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new InvalidSpecException("requestId", "'" + id + "' is not 1-128 characters of letters, digits, '.', '_', ':' or '-'");
    }
    return new WriteOptions(id);
  }

  /** Returns the request id the caller chose, if any. */
  public Optional<String> id() {
    return Optional.ofNullable(requestId);
  }

  @Override
  public String toString() {
    return "WriteOptions{requestId=" + requestId + "}";
  }
}
