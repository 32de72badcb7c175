package dev.hive.discovery.libp2p.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerKeysTest {
  private static final byte[] DATA = "libp2p-pubsub:hello".getBytes(StandardCharsets.UTF_8);
  /** DER prefix of an X.509 Ed25519 public key, to hand our raw key to the JDK. */
  private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  @TempDir Path dir;

  @Test
  void anIdentityKeptInTheDataDirComesBackTheSame() throws IOException {
    Path file = dir.resolve("libp2p/identity.key");
    PeerKeys made = PeerKeys.loadOrCreate(file);
    PeerKeys loaded = PeerKeys.loadOrCreate(file);
    assertThat(loaded.peerId()).isEqualTo(made.peerId());
    assertThat(loaded.encodedPrivateKey()).isEqualTo(made.encodedPrivateKey());
    assertThat(PeerKeys.verify(made.encodedPublicKey(), DATA, loaded.sign(DATA))).isTrue();
  }

  @Test
  void ourSignaturesAreTheJdksEd25519AndTheJdksAreOurs() throws Exception {
    // Two implementations of RFC 8032 must agree: a signature is a wire format.
    PeerKeys keys = PeerKeys.generate();
    byte[] raw = Arrays.copyOfRange(keys.encodedPublicKey(), 4, 36);
    Signature jdk = Signature.getInstance("Ed25519");
    jdk.initVerify(KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(PeerKeys.concat(X509_PREFIX, raw))));
    jdk.update(DATA);
    assertThat(jdk.verify(keys.sign(DATA))).isTrue();

    KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    byte[] x509 = pair.getPublic().getEncoded();
    byte[] encoded = new ProtoWriter().uint(1, PeerKeys.ED25519).bytes(2, Arrays.copyOfRange(x509, x509.length - 32, x509.length)).toByteArray();
    Signature signer = Signature.getInstance("Ed25519");
    signer.initSign(pair.getPrivate());
    signer.update(DATA);
    byte[] signature = signer.sign();
    assertThat(PeerKeys.verify(encoded, DATA, signature)).isTrue();
    signature[10] ^= 1;
    assertThat(PeerKeys.verify(encoded, DATA, signature)).isFalse();
    assertThat(PeerKeys.verify(encoded, DATA, Arrays.copyOf(signature, 63))).isFalse();
  }

  @Test
  void aStoredKeyWhosePublicHalfIsAnotherKeysIsRefused() throws IOException {
    byte[] mine = PeerKeys.generate().encodedPrivateKey();
    byte[] other = PeerKeys.generate().encodedPrivateKey();
    // Both are field 1 (type), field 2 (64 bytes: seed, public key); the public half ends the message.
    System.arraycopy(other, other.length - 32, mine, mine.length - 32, 32);
    Path file = dir.resolve("identity.key");
    Files.write(file, mine);
    assertThatThrownBy(() -> PeerKeys.loadOrCreate(file)).isInstanceOf(IOException.class)
        .hasMessageContaining("public half does not belong to its seed").hasMessageContaining("move it away");
    assertThat(Files.readAllBytes(file)).isEqualTo(mine);
  }
}
