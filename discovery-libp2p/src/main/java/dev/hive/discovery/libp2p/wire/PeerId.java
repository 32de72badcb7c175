package dev.hive.discovery.libp2p.wire;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Optional;

/**
 * A libp2p peer id: the multihash of a protobuf-encoded public key, identity-hashed when the
 * encoding is at most 42 bytes (Ed25519: {@code 12D3KooW...}), SHA-256 otherwise ({@code Qm...}).
 */
public final class PeerId implements Comparable<PeerId> {
  private static final int IDENTITY = 0x00;
  private static final int SHA2_256 = 0x12;
  private final byte[] bytes;
  /** The base58 form, made when first asked for: most ids read off the wire are only compared. */
  private volatile String text;

  private PeerId(byte[] bytes) {
    this.bytes = bytes;
  }

  /** Returns the peer id of a protobuf-encoded public key. */
  public static PeerId fromPublicKey(byte[] encodedPublicKey) {
    if (encodedPublicKey.length <= 42) {
      byte[] id = new byte[2 + encodedPublicKey.length];
      id[0] = IDENTITY;
      id[1] = (byte) encodedPublicKey.length;
      System.arraycopy(encodedPublicKey, 0, id, 2, encodedPublicKey.length);
      return new PeerId(id);
    }
    byte[] id = new byte[34];
    id[0] = SHA2_256;
    id[1] = 32;
    System.arraycopy(sha256(encodedPublicKey), 0, id, 2, 32);
    return new PeerId(id);
  }

  /**
   * Reads a peer id's multihash bytes.
   *
   * @throws WireException if they are not an identity or SHA-256 multihash
   */
  public static PeerId fromBytes(byte[] bytes) throws WireException {
    if (bytes.length < 2 || bytes.length > 2 + 128) {
      throw new WireException("a peer id of " + bytes.length + " bytes is not a multihash");
    }
    int code = bytes[0] & 0xFF;
    int length = bytes[1] & 0xFF;
    if ((code != IDENTITY && code != SHA2_256) || length != bytes.length - 2 || (code == SHA2_256 && length != 32)) {
      throw new WireException("peer id is not an identity or sha2-256 multihash");
    }
    return new PeerId(bytes.clone());
  }

  /**
   * Parses the base58 text form.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   */
  public static PeerId parse(String text) {
    try {
      return fromBytes(Base58.decode(text));
    } catch (WireException | IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + text + "' is not a peer id (" + e.getMessage() + "); peer ids look like 12D3KooW... or Qm...");
    }
  }

  /** Returns the protobuf-encoded public key inlined in an identity-hashed id. */
  public Optional<byte[]> inlinedPublicKey() {
    return bytes[0] == IDENTITY ? Optional.of(Arrays.copyOfRange(bytes, 2, bytes.length)) : Optional.empty();
  }

  /** Says whether {@code encodedPublicKey} is this id's key. */
  public boolean matches(byte[] encodedPublicKey) {
    return equals(fromPublicKey(encodedPublicKey));
  }

  public byte[] bytes() {
    return bytes.clone();
  }

  /** Returns SHA-256 of {@code data}. */
  public static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PeerId p && Arrays.equals(bytes, p.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public int compareTo(PeerId o) {
    return Arrays.compareUnsigned(bytes, o.bytes);
  }

  @Override
  public String toString() {
    String t = text;
    if (t == null) {
      t = Base58.encode(bytes);
      text = t;
    }
    return t;
  }
}
