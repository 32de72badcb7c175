package dev.hive.core.security;

import dev.hive.api.InvalidSpecException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The shared secret that admits a node to a cluster. Never sent on the wire: nodes prove they
 * know it with HMAC-SHA256 over what they send (a public key, a beacon, a CA certificate).
 */
public final class JoinToken {
  private final String value;

  private JoinToken(String value) {
    this.value = value;
  }

  /** A new random token: {@code hive-} and 32 random bytes in base64url. */
  public static JoinToken generate() {
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    return new JoinToken("hive-" + Base64.getUrlEncoder().withoutPadding().encodeToString(random));
  }

  /**
   * A token given by a user.
   *
   * @throws InvalidSpecException if it is shorter than 16 characters or holds whitespace
   */
  public static JoinToken of(String value) {
    if (value == null || value.length() < 16 || value.chars().anyMatch(Character::isWhitespace)) {
      throw new InvalidSpecException("token", "a join token needs at least 16 characters and no spaces; a first node without --token generates one");
    }
    return new JoinToken(value);
  }

  /** Returns the token's text, to print for the operator. */
  public String value() {
    return value;
  }

  /** Returns HMAC-SHA256 keyed by the token over {@code context} and {@code data}. */
  public byte[] mac(String context, byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(value.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update(context.getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 0);
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  /** Checks a MAC in constant time. */
  public boolean verify(String context, byte[] data, byte[] mac) {
    return mac != null && MessageDigest.isEqual(mac(context, data), mac);
  }

  @Override
  public String toString() {
    return "JoinToken[redacted]";
  }
}
