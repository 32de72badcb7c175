package dev.hive.discovery.libp2p.wire;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * A node's libp2p identity: an Ed25519 key pair, its protobuf-encoded public key and its peer
 * id; and the check of other peers' signatures with the key types libp2p peers use.
 */
public final class PeerKeys {
  /** libp2p's KeyType enum. */
  static final int RSA = 0;
  static final int ED25519 = 1;
  static final int SECP256K1 = 2;
  static final int ECDSA = 3;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The 32-byte Ed25519 seed (RFC 8032's private key). */
  private final byte[] seed;
  private final byte[] publicKeyRaw;
  private final byte[] encodedPublicKey;
  private final PeerId peerId;

  private PeerKeys(byte[] seed, byte[] publicKeyRaw) {
    this.seed = seed;
    this.publicKeyRaw = publicKeyRaw;
    this.encodedPublicKey = new ProtoWriter().uint(1, ED25519).bytes(2, publicKeyRaw).toByteArray();
    this.peerId = PeerId.fromPublicKey(encodedPublicKey);
  }

  /** Makes a new random identity. */
  public static PeerKeys generate() {
    byte[] seed = new byte[Ed25519.SECRET_KEY_SIZE];
    RANDOM.nextBytes(seed);
    return fromSeed(seed);
  }

  private static PeerKeys fromSeed(byte[] seed) {
    byte[] publicKey = new byte[Ed25519.PUBLIC_KEY_SIZE];
    Ed25519.generatePublicKey(seed, 0, publicKey, 0);
    return new PeerKeys(seed, publicKey);
  }

  /**
   * Loads the identity kept in {@code file} (libp2p's protobuf PrivateKey: Ed25519, 64 bytes of
   * seed and public key), or makes one and keeps it there.
   *
   * @throws IOException if the file cannot be read or written, or holds something else
   */
  public static PeerKeys loadOrCreate(Path file) throws IOException {
    if (Files.exists(file)) {
      byte[] stored = Files.readAllBytes(file);
      try {
        ProtoReader r = new ProtoReader(stored);
        long type = -1;
        byte[] data = null;
        for (int f; (f = r.next()) > 0; ) {
          if (f == 1) {
            type = r.uint();
          } else if (f == 2) {
            data = r.bytes();
          } else {
            r.skip();
          }
        }
        if (type != ED25519 || data == null || (data.length != 64 && data.length != 32)) {
          throw new WireException("not an Ed25519 private key");
        }
        PeerKeys keys = fromSeed(Arrays.copyOf(data, 32));
        if (data.length == 64 && !Arrays.equals(keys.publicKeyRaw, Arrays.copyOfRange(data, 32, 64))) {
          throw new WireException("its public half does not belong to its seed");
        }
        return keys;
      } catch (WireException e) {
        throw new IOException(file + " does not hold a libp2p Ed25519 identity (" + e.getMessage() + "); move it away to make a new one");
      }
    }
    PeerKeys keys = generate();
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(temporary, keys.encodedPrivateKey());
    try {
      Files.setPosixFilePermissions(temporary, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system: the data dir's own permissions protect it.
    }
    Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return keys;
  }

  /**
   * Returns keys that claim {@code claimed}'s identity but sign with {@code signer}'s private key:
   * what an impostor presents. Tests use it to check that such a peer is refused.
   */
  static PeerKeys impersonating(PeerKeys claimed, PeerKeys signer) {
    return new PeerKeys(signer.seed, claimed.publicKeyRaw);
  }

  /** Returns libp2p's protobuf PrivateKey: type Ed25519, seed followed by the public key. */
  public byte[] encodedPrivateKey() {
    return new ProtoWriter().uint(1, ED25519).bytes(2, concat(seed, publicKeyRaw)).toByteArray();
  }

  public PeerId peerId() {
    return peerId;
  }

  /** Returns libp2p's protobuf PublicKey. */
  public byte[] encodedPublicKey() {
    return encodedPublicKey.clone();
  }

  /** Signs {@code data} with Ed25519. */
  public byte[] sign(byte[] data) {
    byte[] signature = new byte[Ed25519.SIGNATURE_SIZE];
    Ed25519.sign(seed, 0, publicKeyRaw, 0, data, 0, data.length, signature, 0);
    return signature;
  }

  /**
   * Checks a signature made by the owner of a protobuf-encoded public key (Ed25519, RSA or
   * ECDSA; secp256k1 is not in the JDK and is refused).
   *
   * @return false for a wrong signature
   * @throws WireException if the key cannot be read or its type is not supported
   */
  public static boolean verify(byte[] encodedPublicKey, byte[] data, byte[] signature) throws WireException {
    ProtoReader r = new ProtoReader(encodedPublicKey);
    long type = -1;
    byte[] key = null;
    for (int f; (f = r.next()) > 0; ) {
      if (f == 1) {
        type = r.uint();
      } else if (f == 2) {
        key = r.bytes();
      } else {
        r.skip();
      }
    }
    if (key == null) {
      throw new WireException("public key has no data");
    }
    if (type == ED25519) {
      if (key.length != Ed25519.PUBLIC_KEY_SIZE) {
        throw new WireException("Ed25519 public key of " + key.length + " bytes, expected 32");
      }
      // Bouncy Castle's RFC 8032 code, not the JDK's: every node checks every gossip message's
      // signature, and the JDK 17 Ed25519 verify costs about 0.4 ms against 0.05 ms here.
      return signature.length == Ed25519.SIGNATURE_SIZE && Ed25519.verify(signature, 0, key, 0, data, 0, data.length);
    }
    try {
      PublicKey publicKey;
      String algorithm;
      if (type == RSA) {
        publicKey = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(key));
        algorithm = "SHA256withRSA";
      } else if (type == ECDSA) {
        publicKey = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(key));
        algorithm = "SHA256withECDSA";
      } else {
        throw new WireException("key type " + type + " is not supported here (Ed25519, RSA and ECDSA are)");
      }
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(data);
      return verifier.verify(signature);
    } catch (java.security.SignatureException e) {
      return false;
    } catch (GeneralSecurityException e) {
      throw new WireException("unreadable public key: " + e.getMessage());
    }
  }

  /** Returns {@code parts} one after the other. */
  public static byte[] concat(byte[]... parts) {
    int length = 0;
    for (byte[] p : parts) {
      length += p.length;
    }
    byte[] out = new byte[length];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
