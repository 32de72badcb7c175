package dev.hive.core.state;

import dev.hive.api.InvalidSpecException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * An API token as the cluster state records it: never its secret, only the secret's SHA-256, so
 * that a copy of the state or a snapshot lets no one call the API.
 *
 * @param name what the token is for, unique in the cluster
 * @param role {@code read}, {@code operate} or {@code admin}
 * @param sha256 the lower-case hex SHA-256 of the secret
 * @param createdAtMillis when it was created
 * @param expiresAtMillis when it stops working, or 0 for never
 */
public record TokenRecord(String name, String role, String sha256, long createdAtMillis, long expiresAtMillis) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  /** The roles, weakest first: each can do what the ones before it can. */
  public static final java.util.List<String> ROLES = java.util.List.of("read", "operate", "admin");

  /**
   * @throws InvalidSpecException if a field is not valid
   */
  public TokenRecord {
    checkName(name);
    role = checkRole(role);
    if (sha256 == null || !SHA256.matcher(sha256).matches()) {
      throw new InvalidSpecException("sha256", "not a lower-case hex SHA-256");
    }
    if (expiresAtMillis < 0) {
      throw new InvalidSpecException("expiresAt", "negative");
    }
  }

  /**
   * Checks a token name: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.
   *
   * @throws InvalidSpecException if it is not one
   */
  public static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new InvalidSpecException("name", "'" + name + "' is not a token name: use 1-63 lower-case letters, digits, '.', '_' or '-', "
          + "starting with a letter or digit, e.g. ci");
    }
    return name;
  }

  /**
   * Returns the role in lower case.
   *
   * @throws InvalidSpecException if it is not read, operate or admin
   */
  public static String checkRole(String role) {
    String r = role == null ? "" : role.toLowerCase(Locale.ROOT);
    if (!ROLES.contains(r)) {
      throw new InvalidSpecException("role", "'" + role + "' is not a role: use read, operate or admin");
    }
    return r;
  }

  /** Whether this token's role includes {@code needed}. */
  public boolean allows(String needed) {
    return ROLES.indexOf(role) >= ROLES.indexOf(needed);
  }

  /** Whether the token has expired at {@code nowMillis}. */
  public boolean expiredAt(long nowMillis) {
    return expiresAtMillis != 0 && nowMillis >= expiresAtMillis;
  }
}
