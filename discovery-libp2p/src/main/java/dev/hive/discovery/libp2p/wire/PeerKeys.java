package dev.hive.discovery.libp2p.wire;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

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
  // DER prefixes that turn a raw 32-byte Ed25519 key into the JDK's encodings.
  private static final byte[] ED25519_PUBLIC_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");
  private static final byte[] ED25519_PRIVATE_PREFIX = HexFormat.of().parseHex("302e020100300506032b657004220420");

  private final PrivateKey privateKey;
  private final byte[] publicKeyRaw;
  private final byte[] encodedPublicKey;
  private final PeerId peerId;

  private PeerKeys(PrivateKey privateKey, byte[] publicKeyRaw) {
    this.privateKey = privateKey;
    this.publicKeyRaw = publicKeyRaw;
    this.encodedPublicKey = new ProtoWriter().uint(1, ED25519).bytes(2, publicKeyRaw).toByteArray();
    this.peerId = PeerId.fromPublicKey(encodedPublicKey);
  }

  /** Makes a new random identity. */
  public static PeerKeys generate() {
    try {
      KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      byte[] x509 = pair.getPublic().getEncoded();
      return new PeerKeys(pair.getPrivate(), Arrays.copyOfRange(x509, x509.length - 32, x509.length));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK has no Ed25519", e);
    }
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
        PrivateKey key = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(concat(ED25519_PRIVATE_PREFIX, Arrays.copyOf(data, 32))));
        return fromPrivate(key);
      } catch (WireException | GeneralSecurityException e) {
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

  private static PeerKeys fromPrivate(PrivateKey key) throws GeneralSecurityException {
    // The JDK has no public way to derive an Ed25519 public key from a private one; its generator
    // draws the 32-byte seed from the SecureRandom it is given, so handing it the stored seed
    // re-creates the pair.
    byte[] pkcs8 = key.getEncoded();
    byte[] seed = Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length);
    KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
    generator.initialize(new java.security.spec.NamedParameterSpec("Ed25519"), new FixedRandom(seed));
    KeyPair pair = generator.generateKeyPair();
    byte[] x509 = pair.getPublic().getEncoded();
    return new PeerKeys(pair.getPrivate(), Arrays.copyOfRange(x509, x509.length - 32, x509.length));
  }

  /** Hands the JDK's generator the stored seed as its "random" bytes. */
  private static final class FixedRandom extends java.security.SecureRandom {
    private static final long serialVersionUID = 1L;
    private final byte[] seed;

    FixedRandom(byte[] seed) {
      this.seed = seed;
    }

    @Override
    public void nextBytes(byte[] bytes) {
      System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
    }
  }

  /**
   * Returns keys that claim {@code claimed}'s identity but sign with {@code signer}'s private key:
   * what an impostor presents. Tests use it to check that such a peer is refused.
   */
  static PeerKeys impersonating(PeerKeys claimed, PeerKeys signer) {
    return new PeerKeys(signer.privateKey, claimed.publicKeyRaw);
  }

  /** Returns libp2p's protobuf PrivateKey: type Ed25519, seed followed by the public key. */
  public byte[] encodedPrivateKey() {
    byte[] pkcs8 = privateKey.getEncoded();
    byte[] seed = Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length);
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
    try {
      Signature signer = Signature.getInstance("Ed25519");
      signer.initSign(privateKey);
      signer.update(data);
      return signer.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
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
    try {
      PublicKey publicKey;
      String algorithm;
      if (type == ED25519) {
        if (key.length != 32) {
          throw new WireException("Ed25519 public key of " + key.length + " bytes, expected 32");
        }
        publicKey = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(concat(ED25519_PUBLIC_PREFIX, key)));
        algorithm = "Ed25519";
      } else if (type == RSA) {
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
