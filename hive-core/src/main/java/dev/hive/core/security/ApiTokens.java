package dev.hive.core.security;

import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.TokenRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * API token secrets: made from 32 random bytes, shown once, kept in the cluster state only as their
 * SHA-256. A secret that random needs no slow hash: no one can guess one to try.
 */
public final class ApiTokens {
  /** The file in a data dir that holds the cluster's bootstrap admin token (0600). */
  public static final String BOOTSTRAP_FILE = "api-token";
  /** The name of the bootstrap token in the state. */
  public static final String BOOTSTRAP_NAME = "bootstrap";
  private static final String PREFIX = "hive_";
  private static final Pattern SECRET = Pattern.compile("hive_[A-Za-z0-9_-]{43}");
  private static final Pattern TTL = Pattern.compile("([0-9]{1,6})([smhd])");
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiTokens() {}

  /** Returns a new secret: {@code hive_} and 32 random bytes in URL-safe base64. */
  public static String newSecret() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** Returns the lower-case hex SHA-256 of a secret, as the state keeps it. */
  public static String sha256(String secret) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * Returns the token whose secret this is, if it is valid at {@code nowMillis}. A secret that is
   * not of the form Hive makes is not looked up at all.
   */
  public static Optional<TokenRecord> find(ClusterState state, String secret, long nowMillis) {
    if (secret == null || !SECRET.matcher(secret).matches()) {
      return Optional.empty();
    }
    String hash = sha256(secret);
    for (TokenRecord t : state.tokens().values()) {
      if (MessageDigest.isEqual(t.sha256().getBytes(StandardCharsets.US_ASCII), hash.getBytes(StandardCharsets.US_ASCII))) {
        return t.expiredAt(nowMillis) ? Optional.empty() : Optional.of(t);
      }
    }
    return Optional.empty();
  }

  /**
   * Parses a time to live such as {@code 30d}, {@code 12h}, {@code 90m} or {@code 3600s}.
   *
   * @throws InvalidSpecException if it is not one
   */
  public static Duration parseTtl(String ttl) {
    Matcher m = TTL.matcher(ttl == null ? "" : ttl.trim());
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw new InvalidSpecException("ttl", "'" + ttl + "' is not a time to live: use a positive number and s, m, h or d, e.g. 30d");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  /**
   * Returns the bootstrap secret kept in {@code dataDir}, making and writing one (0600) if there is
   * none yet: written before the state records it, so a crash in between loses nothing.
   *
   * @throws HiveException if the file cannot be read or written
   */
  public static String bootstrapSecret(Path dataDir) {
    Path file = dataDir.resolve(BOOTSTRAP_FILE);
    try {
      if (Files.exists(file)) {
        String secret = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (SECRET.matcher(secret).matches()) {
          return secret;
        }
      }
      String secret = newSecret();
      SecretFiles.write(file, (secret + "\n").getBytes(StandardCharsets.UTF_8));
      return secret;
    } catch (IOException e) {
      throw new HiveException("cannot keep the API's bootstrap token in " + file + ": " + e.getMessage(), e);
    }
  }
}
