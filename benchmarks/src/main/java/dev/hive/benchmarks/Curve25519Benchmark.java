package dev.hive.benchmarks;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.util.concurrent.TimeUnit;
import javax.crypto.KeyAgreement;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The two curve operations every libp2p connection and gossip message costs, as
 * discovery-libp2p does them (Bouncy Castle's RFC 7748 and RFC 8032 code) against the JDK's own
 * providers, the baseline, in the same run:
 *
 * <ul>
 *   <li>x25519: one key pair and one agreement with the peer's key, a third of what a Noise XX
 *       handshake does on each side (two pairs, three agreements);
 *   <li>ed25519Verify: one signature check, what every node does for every gossip message and
 *       every Noise handshake payload.
 * </ul>
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar Curve25519Benchmark</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class Curve25519Benchmark {
  private final SecureRandom random = new SecureRandom();
  private byte[] peerX25519;
  private KeyPair jdkPeerX25519;
  private final byte[] message = new byte[200];
  private byte[] bcEd25519Public;
  private byte[] bcSignature;
  private KeyPair jdkEd25519;
  private byte[] jdkSignature;

  @Setup
  public void setUp() throws GeneralSecurityException {
    random.nextBytes(message);
    byte[] secret = new byte[X25519.SCALAR_SIZE];
    X25519.generatePrivateKey(random, secret);
    peerX25519 = new byte[X25519.POINT_SIZE];
    X25519.generatePublicKey(secret, 0, peerX25519, 0);
    jdkPeerX25519 = KeyPairGenerator.getInstance("X25519").generateKeyPair();

    byte[] seed = new byte[Ed25519.SECRET_KEY_SIZE];
    random.nextBytes(seed);
    bcEd25519Public = new byte[Ed25519.PUBLIC_KEY_SIZE];
    Ed25519.generatePublicKey(seed, 0, bcEd25519Public, 0);
    bcSignature = new byte[Ed25519.SIGNATURE_SIZE];
    Ed25519.sign(seed, 0, message, 0, message.length, bcSignature, 0);
    jdkEd25519 = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Signature signer = Signature.getInstance("Ed25519");
    signer.initSign(jdkEd25519.getPrivate());
    signer.update(message);
    jdkSignature = signer.sign();
  }

  @Benchmark
  public byte[] x25519BouncyCastle() {
    byte[] secret = new byte[X25519.SCALAR_SIZE];
    X25519.generatePrivateKey(random, secret);
    byte[] mine = new byte[X25519.POINT_SIZE];
    X25519.generatePublicKey(secret, 0, mine, 0);
    byte[] shared = new byte[X25519.POINT_SIZE];
    if (!X25519.calculateAgreement(secret, 0, peerX25519, 0, shared, 0)) {
      throw new IllegalStateException("small-order peer key");
    }
    return shared;
  }

  @Benchmark
  public byte[] x25519Jdk() throws GeneralSecurityException {
    KeyPair mine = KeyPairGenerator.getInstance("X25519").generateKeyPair();
    KeyAgreement agreement = KeyAgreement.getInstance("X25519");
    agreement.init(mine.getPrivate());
    agreement.doPhase(jdkPeerX25519.getPublic(), true);
    return agreement.generateSecret();
  }

  @Benchmark
  public boolean ed25519VerifyBouncyCastle() {
    return Ed25519.verify(bcSignature, 0, bcEd25519Public, 0, message, 0, message.length);
  }

  @Benchmark
  public boolean ed25519VerifyJdk() throws GeneralSecurityException {
    Signature verifier = Signature.getInstance("Ed25519");
    verifier.initVerify(jdkEd25519.getPublic());
    verifier.update(message);
    return verifier.verify(jdkSignature);
  }
}
