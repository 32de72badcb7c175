package dev.hive.discovery.libp2p.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * libp2p's Noise handshake, {@code Noise_XX_25519_ChaChaPoly_SHA256}, with the libp2p payload
 * (identity key, signature over the static key, the stream muxers it supports), and the secured
 * streams it yields. Every message is prefixed by a 2-byte big-endian length.
 */
public final class Noise {
  public static final String PROTOCOL_ID = "/noise";
  private static final byte[] PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_SHA256".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SIGNATURE_PREFIX = "noise-libp2p-static-key:".getBytes(StandardCharsets.US_ASCII);
  /** The largest Noise message; its plaintext is 16 bytes (the tag) shorter. */
  public static final int MAX_MESSAGE = 65535;
  private static final int TAG = 16;

  private Noise() {}

  /** What a finished handshake yields. */
  public record Session(PeerId remotePeer, byte[] remotePublicKey, List<String> remoteMuxers, InputStream in, OutputStream out) {}

  /** One direction's key and nonce. */
  static final class CipherState {
    private final byte[] key;
    private long nonce;
    private final Cipher cipher;
    private final SecretKeySpec keySpec;

    CipherState(byte[] key) {
      this.key = key;
      this.keySpec = new SecretKeySpec(key, "ChaCha20");
      try {
        this.cipher = Cipher.getInstance("ChaCha20-Poly1305");
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("this JDK has no ChaCha20-Poly1305", e);
      }
    }

    private IvParameterSpec nextNonce() {
      byte[] iv = new byte[12];
      long n = nonce++;
      for (int i = 0; i < 8; i++) {
        iv[4 + i] = (byte) (n >>> (8 * i));
      }
      return new IvParameterSpec(iv);
    }

    byte[] encrypt(byte[] ad, byte[] plaintext, int offset, int length) {
      try {
        cipher.init(Cipher.ENCRYPT_MODE, keySpec, nextNonce());
        if (ad != null) {
          cipher.updateAAD(ad);
        }
        return cipher.doFinal(plaintext, offset, length);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    int decrypt(byte[] ad, byte[] ciphertext, int length, byte[] into) throws WireException {
      try {
        cipher.init(Cipher.DECRYPT_MODE, keySpec, nextNonce());
        if (ad != null) {
          cipher.updateAAD(ad);
        }
        return cipher.doFinal(ciphertext, 0, length, into, 0);
      } catch (javax.crypto.AEADBadTagException e) {
        throw new WireException("Noise message failed authentication");
      } catch (GeneralSecurityException e) {
        throw new WireException("Noise message cannot be decrypted: " + e.getMessage());
      }
    }

    byte[] decrypt(byte[] ad, byte[] ciphertext) throws WireException {
      if (ciphertext.length < TAG) {
        throw new WireException("Noise message shorter than its tag");
      }
      byte[] out = new byte[ciphertext.length - TAG];
      decrypt(ad, ciphertext, ciphertext.length, out);
      return out;
    }
  }

  /** The handshake's symmetric state: chaining key, hash, and the key once there is one. */
  private static final class SymmetricState {
    byte[] ck;
    byte[] h;
    CipherState cipher;

    SymmetricState() {
      h = PROTOCOL_NAME.clone();
      ck = h.clone();
      mixHash(new byte[0]);
    }

    void mixHash(byte[] data) {
      try {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(h);
        sha.update(data);
        h = sha.digest();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    void mixKey(byte[] inputKeyMaterial) {
      byte[][] out = hkdf(ck, inputKeyMaterial);
      ck = out[0];
      cipher = new CipherState(out[1]);
    }

    byte[] encryptAndHash(byte[] plaintext) {
      byte[] out = cipher == null ? plaintext : cipher.encrypt(h, plaintext, 0, plaintext.length);
      mixHash(out);
      return out;
    }

    byte[] decryptAndHash(byte[] ciphertext) throws WireException {
      byte[] out = cipher == null ? ciphertext : cipher.decrypt(h, ciphertext);
      mixHash(ciphertext);
      return out;
    }

    CipherState[] split() {
      byte[][] out = hkdf(ck, new byte[0]);
      return new CipherState[] {new CipherState(out[0]), new CipherState(out[1])};
    }
  }

  static byte[][] hkdf(byte[] chainingKey, byte[] inputKeyMaterial) {
    try {
      byte[] temp = hmac(chainingKey, inputKeyMaterial);
      byte[] first = hmac(temp, new byte[] {1});
      byte[] second = hmac(temp, PeerKeys.concat(first, new byte[] {2}));
      return new byte[][] {first, second};
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] hmac(byte[] key, byte[] data) throws GeneralSecurityException {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return mac.doFinal(data);
  }

  /**
   * An X25519 key pair, raw 32-byte halves. Bouncy Castle's RFC 7748 code, as for Ed25519 in
   * {@link PeerKeys}: a handshake makes two pairs and three agreements, and with the JDK 17
   * provider they were about half of the libp2p threads' CPU samples when fifty nodes dialled each
   * other (Curve25519Benchmark in benchmarks compares the two).
   */
  private record DhKeys(byte[] secret, byte[] publicKey) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private static DhKeys x25519() {
    byte[] secret = new byte[X25519.SCALAR_SIZE];
    X25519.generatePrivateKey(RANDOM, secret);
    byte[] publicKey = new byte[X25519.POINT_SIZE];
    X25519.generatePublicKey(secret, 0, publicKey, 0);
    return new DhKeys(secret, publicKey);
  }

  private static byte[] dh(DhKeys mine, byte[] theirs) throws WireException {
    byte[] shared = new byte[X25519.POINT_SIZE];
    // False when the result is all zeros: the peer sent a point of small order.
    if (!X25519.calculateAgreement(mine.secret(), 0, theirs, 0, shared, 0)) {
      throw new WireException("peer's X25519 key is unusable: it is a point of small order");
    }
    return shared;
  }

  private static byte[] payload(PeerKeys identity, DhKeys staticKey, List<String> muxers) {
    byte[] signature = identity.sign(PeerKeys.concat(SIGNATURE_PREFIX, staticKey.publicKey()));
    ProtoWriter extensions = new ProtoWriter();
    muxers.forEach(m -> extensions.string(2, m));
    return new ProtoWriter().bytes(1, identity.encodedPublicKey()).bytes(2, signature).message(4, extensions).toByteArray();
  }

  private static Session verified(byte[] payload, byte[] remoteStatic, PeerId expected, InputStream in, OutputStream out,
      CipherState receive, CipherState send) throws WireException {
    ProtoReader r = new ProtoReader(payload);
    byte[] key = null;
    byte[] signature = null;
    List<String> muxers = new ArrayList<>();
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> key = r.bytes();
        case 2 -> signature = r.bytes();
        case 4 -> {
          ProtoReader ext = r.message();
          for (int g; (g = ext.next()) > 0; ) {
            if (g == 2) {
              muxers.add(ext.string());
            } else {
              ext.skip();
            }
          }
        }
        default -> r.skip();
      }
    }
    if (key == null || signature == null) {
      throw new WireException("Noise handshake payload lacks the identity key or its signature");
    }
    if (!PeerKeys.verify(key, PeerKeys.concat(SIGNATURE_PREFIX, remoteStatic), signature)) {
      throw new WireException("peer's signature over its Noise static key is invalid: refused");
    }
    PeerId remote = PeerId.fromPublicKey(key);
    if (expected != null && !expected.equals(remote)) {
      throw new WireException("dialed peer " + expected + " but " + remote + " answered");
    }
    return new Session(remote, key, List.copyOf(muxers), new SecureInputStream(in, receive), new SecureOutputStream(out, send));
  }

  private static void writeMessage(OutputStream out, byte[] message) throws IOException {
    byte[] framed = new byte[2 + message.length];
    framed[0] = (byte) (message.length >>> 8);
    framed[1] = (byte) message.length;
    System.arraycopy(message, 0, framed, 2, message.length);
    out.write(framed);
    out.flush();
  }

  private static byte[] readMessage(InputStream in) throws IOException {
    int hi = in.read();
    int lo = in.read();
    if (hi < 0 || lo < 0) {
      throw new EOFException("connection closed during the Noise handshake");
    }
    byte[] message = in.readNBytes((hi << 8) | lo);
    if (message.length < ((hi << 8) | lo)) {
      throw new EOFException("connection closed inside a Noise message");
    }
    return message;
  }

  private static byte[][] cut(byte[] message, int at, String what) throws WireException {
    if (message.length < at) {
      throw new WireException("Noise " + what + " is " + message.length + " bytes, shorter than " + at);
    }
    return new byte[][] {Arrays.copyOf(message, at), Arrays.copyOfRange(message, at, message.length)};
  }

  /**
   * Runs the handshake as the dialer.
   *
   * @param expected the peer id dialed, or null to accept whoever answers
   * @throws WireException if the peer's messages are malformed, its signature is invalid or it is not {@code expected}
   */
  public static Session initiate(InputStream in, OutputStream out, PeerKeys identity, List<String> muxers, PeerId expected) throws IOException {
    SymmetricState state = new SymmetricState();
    DhKeys s = x25519();
    DhKeys e = x25519();
    byte[] ePublic = e.publicKey();
    state.mixHash(ePublic);
    state.encryptAndHash(new byte[0]);
    writeMessage(out, ePublic);

    byte[] second = readMessage(in);
    byte[][] reParts = cut(second, 32, "message 2");
    byte[] re = reParts[0];
    state.mixHash(re);
    state.mixKey(dh(e, re));
    byte[][] rsParts = cut(reParts[1], 32 + TAG, "message 2");
    byte[] rs = state.decryptAndHash(rsParts[0]);
    state.mixKey(dh(e, rs));
    byte[] remotePayload = state.decryptAndHash(rsParts[1]);

    byte[] sEncrypted = state.encryptAndHash(s.publicKey());
    state.mixKey(dh(s, re));
    byte[] payloadEncrypted = state.encryptAndHash(payload(identity, s, muxers));
    writeMessage(out, PeerKeys.concat(sEncrypted, payloadEncrypted));
    CipherState[] split = state.split();
    return verified(remotePayload, rs, expected, in, out, split[1], split[0]);
  }

  /**
   * Runs the handshake as the listener.
   *
   * @throws WireException if the peer's messages are malformed or its signature is invalid
   */
  public static Session respond(InputStream in, OutputStream out, PeerKeys identity, List<String> muxers) throws IOException {
    SymmetricState state = new SymmetricState();
    DhKeys s = x25519();
    byte[] first = readMessage(in);
    byte[][] reParts = cut(first, 32, "message 1");
    byte[] re = reParts[0];
    state.mixHash(re);
    state.decryptAndHash(reParts[1]);

    DhKeys e = x25519();
    byte[] ePublic = e.publicKey();
    state.mixHash(ePublic);
    state.mixKey(dh(e, re));
    byte[] sEncrypted = state.encryptAndHash(s.publicKey());
    state.mixKey(dh(s, re));
    byte[] payloadEncrypted = state.encryptAndHash(payload(identity, s, muxers));
    writeMessage(out, PeerKeys.concat(ePublic, sEncrypted, payloadEncrypted));

    byte[] third = readMessage(in);
    byte[][] rsParts = cut(third, 32 + TAG, "message 3");
    byte[] rs = state.decryptAndHash(rsParts[0]);
    state.mixKey(dh(e, rs));
    byte[] remotePayload = state.decryptAndHash(rsParts[1]);
    CipherState[] split = state.split();
    return verified(remotePayload, rs, null, in, out, split[0], split[1]);
  }

  /** Decrypts Noise transport messages into a byte stream. */
  static final class SecureInputStream extends InputStream {
    private final InputStream in;
    private final CipherState cipher;
    private final byte[] ciphertext = new byte[MAX_MESSAGE];
    private final byte[] plaintext = new byte[MAX_MESSAGE];
    private int position;
    private int limit;

    SecureInputStream(InputStream in, CipherState cipher) {
      this.in = in;
      this.cipher = cipher;
    }

    private boolean fill() throws IOException {
      while (position >= limit) {
        int hi = in.read();
        if (hi < 0) {
          return false;
        }
        int lo = in.read();
        if (lo < 0) {
          throw new EOFException("connection closed inside a Noise length");
        }
        int length = (hi << 8) | lo;
        if (length < TAG) {
          throw new WireException("Noise message of " + length + " bytes is shorter than its tag");
        }
        if (in.readNBytes(ciphertext, 0, length) < length) {
          throw new EOFException("connection closed inside a Noise message");
        }
        limit = cipher.decrypt(null, ciphertext, length, plaintext);
        position = 0;
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return fill() ? plaintext[position++] & 0xFF : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, limit - position);
      System.arraycopy(plaintext, position, b, off, n);
      position += n;
      return n;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /**
   * Encrypts writes into Noise transport messages; a flush sends what is buffered. Synchronized:
   * a close racing a write must not encrypt two messages under one nonce.
   */
  static final class SecureOutputStream extends OutputStream {
    private static final int MAX_PLAINTEXT = MAX_MESSAGE - TAG;
    private final OutputStream out;
    private final CipherState cipher;
    private final byte[] buffer = new byte[MAX_PLAINTEXT];
    private int count;

    SecureOutputStream(OutputStream out, CipherState cipher) {
      this.out = out;
      this.cipher = cipher;
    }

    @Override
    public synchronized void write(int b) throws IOException {
      if (count == buffer.length) {
        send();
      }
      buffer[count++] = (byte) b;
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        if (count == buffer.length) {
          send();
        }
        int n = Math.min(len, buffer.length - count);
        System.arraycopy(b, off, buffer, count, n);
        count += n;
        off += n;
        len -= n;
      }
    }

    private void send() throws IOException {
      if (count == 0) {
        return;
      }
      byte[] sealed = cipher.encrypt(null, buffer, 0, count);
      out.write(sealed.length >>> 8);
      out.write(sealed.length);
      out.write(sealed);
      count = 0;
    }

    @Override
    public synchronized void flush() throws IOException {
      send();
      out.flush();
    }

    @Override
    public synchronized void close() throws IOException {
      try {
        flush();
      } finally {
        out.close();
      }
    }
  }
}
