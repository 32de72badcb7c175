package dev.hive.core.security;

import dev.hive.api.HiveException;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster's certificates, kept in {@code <data-dir>/tls}: the cluster CA ({@code ca.crt},
 * and {@code ca.key} on nodes that may admit others), this node's key and certificate ({@code
 * node.key}, {@code node.crt}, CN = node id) and the join token ({@code token}). EC P-256, signed
 * with SHA256withECDSA. A joining node proves it knows the token with a self-signed certificate
 * whose OU carries an HMAC of its public key (see {@link #joinerCertificate}).
 */
public final class ClusterPki {
  static final String JOIN_OU_PREFIX = "hive-join:";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;
  private final X509Certificate caCert;
  private final PrivateKey caKey;
  private final KeyPair nodeKeys;
  private final X509Certificate nodeCert;

  private ClusterPki(Path dir, X509Certificate caCert, PrivateKey caKey, KeyPair nodeKeys, X509Certificate nodeCert) {
    this.dir = dir;
    this.caCert = caCert;
    this.caKey = caKey;
    this.nodeKeys = nodeKeys;
    this.nodeCert = nodeCert;
  }

  /** Returns true when {@code dir} holds a node certificate. */
  public static boolean exists(Path dir) {
    return Files.exists(dir.resolve("node.crt"));
  }

  /** Creates a new cluster CA and this node's certificate in {@code dir} (the first node). */
  public static ClusterPki createCluster(Path dir, String clusterName, String nodeId) {
    KeyPair ca = newKeyPair();
    X509Certificate caCert = sign(name(clusterName + " cluster CA", "hive-ca"), ca.getPublic(), name(clusterName + " cluster CA", "hive-ca"), ca.getPrivate(), true, Duration.ofDays(3650));
    KeyPair node = newKeyPair();
    X509Certificate nodeCert = sign(name(nodeId, "hive-node"), node.getPublic(), X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()), ca.getPrivate(), false, Duration.ofDays(3650));
    ClusterPki pki = new ClusterPki(dir, caCert, ca.getPrivate(), node, nodeCert);
    pki.save();
    return pki;
  }

  /** Stores what a join returned: the CA (with its key, so this node can admit others) and this node's certificate. */
  public static ClusterPki joined(Path dir, KeyPair nodeKeys, X509Certificate nodeCert, X509Certificate caCert, PrivateKey caKey) {
    ClusterPki pki = new ClusterPki(dir, caCert, caKey, nodeKeys, nodeCert);
    pki.save();
    return pki;
  }

  /**
   * Loads the certificates from {@code dir}.
   *
   * @throws HiveException naming the file when one is unreadable
   */
  public static ClusterPki load(Path dir) {
    X509Certificate ca = readCertificate(dir.resolve("ca.crt"));
    X509Certificate node = readCertificate(dir.resolve("node.crt"));
    KeyPair nodeKeys = new KeyPair(node.getPublicKey(), readPrivateKey(dir.resolve("node.key")));
    PrivateKey caKey = Files.exists(dir.resolve("ca.key")) ? readPrivateKey(dir.resolve("ca.key")) : null;
    try {
      node.verify(ca.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new HiveException(dir.resolve("node.crt") + " is not signed by " + dir.resolve("ca.crt") + "; remove " + dir + " and join again with the token");
    }
    return new ClusterPki(dir, ca, caKey, nodeKeys, node);
  }

  /** Returns the cluster CA certificate. */
  public X509Certificate caCertificate() {
    return caCert;
  }

  /** Returns the CA key, if this node holds it. */
  public Optional<PrivateKey> caKey() {
    return Optional.ofNullable(caKey);
  }

  /** Returns this node's key pair. */
  public KeyPair nodeKeys() {
    return nodeKeys;
  }

  /** Returns this node's certificate. */
  public X509Certificate nodeCertificate() {
    return nodeCert;
  }

  /** Returns the node id a member certificate names (its CN). */
  public static String nodeIdOf(X509Certificate cert) {
    return IETFUtils.valueToString(X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN)[0].getFirst().getValue());
  }

  /**
   * Issues a member certificate for {@code nodeId}'s public key.
   *
   * @throws HiveException if this node does not hold the CA key
   */
  public X509Certificate issue(String nodeId, PublicKey key) {
    if (caKey == null) {
      throw new HiveException("this node cannot admit members: it does not hold the cluster CA key");
    }
    return sign(name(nodeId, "hive-node"), key, X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()), caKey, false, Duration.ofDays(3650));
  }

  /**
   * Issues a server certificate for the REST API whose names ({@code names}: addresses and host
   * names) a client checks, as browsers and curl do.
   *
   * @throws HiveException if this node does not hold the CA key
   */
  public X509Certificate issueServer(String nodeId, PublicKey key, java.util.Collection<String> names) {
    if (caKey == null) {
      throw new HiveException("this node cannot issue an API certificate: it does not hold the cluster CA key; give one with --http-cert and --http-key");
    }
    java.util.List<org.bouncycastle.asn1.x509.GeneralName> alt = new java.util.ArrayList<>();
    for (String n : new java.util.TreeSet<>(names)) {
      boolean ip = n.matches("[0-9.]+") || n.contains(":");
      alt.add(new org.bouncycastle.asn1.x509.GeneralName(ip ? org.bouncycastle.asn1.x509.GeneralName.iPAddress : org.bouncycastle.asn1.x509.GeneralName.dNSName, n));
    }
    return sign(name(nodeId, "hive-api"), key, X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()), caKey, false,
        Duration.ofDays(365), new org.bouncycastle.asn1.x509.GeneralNames(alt.toArray(org.bouncycastle.asn1.x509.GeneralName[]::new)));
  }

  /** A self-signed certificate for a joining node whose OU proves it knows the token. */
  public static X509Certificate joinerCertificate(KeyPair keys, String nodeId, JoinToken token) {
    String proof = Base64.getUrlEncoder().withoutPadding().encodeToString(token.mac("join-key", keys.getPublic().getEncoded()));
    X500Name subject = name(nodeId, JOIN_OU_PREFIX + proof);
    return sign(subject, keys.getPublic(), subject, keys.getPrivate(), false, Duration.ofHours(1));
  }

  /** Returns true when {@code cert} is a self-signed joiner certificate whose proof matches {@code token}. */
  public static boolean isValidJoiner(X509Certificate cert, JoinToken token) {
    try {
      cert.verify(cert.getPublicKey());
      cert.checkValidity();
      X500Name subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
      if (subject.getRDNs(BCStyle.OU).length == 0) {
        return false;
      }
      String ou = IETFUtils.valueToString(subject.getRDNs(BCStyle.OU)[0].getFirst().getValue());
      if (!ou.startsWith(JOIN_OU_PREFIX)) {
        return false;
      }
      byte[] proof = Base64.getUrlDecoder().decode(ou.substring(JOIN_OU_PREFIX.length()));
      return token.verify("join-key", cert.getPublicKey().getEncoded(), proof);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 is part of every JDK", e);
    }
  }

  private static X500Name name(String cn, String ou) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).addRDN(BCStyle.OU, ou).addRDN(BCStyle.O, "hive").build();
  }

  private static X509Certificate sign(X500Name subject, PublicKey key, X500Name issuer, PrivateKey issuerKey, boolean ca, Duration validity) {
    return sign(subject, key, issuer, issuerKey, ca, validity, null);
  }

  private static X509Certificate sign(X500Name subject, PublicKey key, X500Name issuer, PrivateKey issuerKey, boolean ca, Duration validity,
      org.bouncycastle.asn1.x509.GeneralNames serverNames) {
    try {
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, RANDOM), Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject, key);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      if (serverNames != null) {
        b.addExtension(Extension.subjectAlternativeName, false, serverNames);
        b.addExtension(Extension.extendedKeyUsage, false, new org.bouncycastle.asn1.x509.ExtendedKeyUsage(org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_serverAuth));
      }
      X509CertificateHolder holder = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey));
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (OperatorCreationException | GeneralSecurityException | IOException e) {
      throw new HiveException("cannot create a certificate for " + subject + ": " + e.getMessage(), e);
    }
  }

  private void save() {
    try {
      SecretFiles.privateDirectory(dir);
      write(dir.resolve("ca.crt"), pem(caCert));
      if (caKey != null) {
        write(dir.resolve("ca.key"), pem(caKey));
      }
      write(dir.resolve("node.key"), pem(nodeKeys.getPrivate()));
      write(dir.resolve("node.crt"), pem(nodeCert));
    } catch (IOException e) {
      throw new HiveException("cannot write certificates to " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Writes a file atomically (a crash never leaves half a key) and 0600 from its creation. */
  static void write(Path file, String text) throws IOException {
    SecretFiles.write(file, text.getBytes(StandardCharsets.UTF_8));
  }

  public static String pem(Object object) {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      if (object instanceof PrivateKey key) {
        // PKCS#8 keeps the curve with the key; SEC1 as written from a JDK key does not.
        pw.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null));
      } else {
        pw.writeObject(object);
      }
    } catch (IOException e) {
      throw new HiveException("cannot encode " + object.getClass().getSimpleName() + " as PEM", e);
    }
    return w.toString();
  }

  public static X509Certificate parseCertificate(String pem) {
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object o = parser.readObject();
      if (!(o instanceof X509CertificateHolder holder)) {
        throw new HiveException("not a PEM certificate");
      }
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (IOException | GeneralSecurityException e) {
      throw new HiveException("not a PEM certificate: " + e.getMessage(), e);
    }
  }

  /** Parses a PEM private key (SEC1 or PKCS#8). */
  public static PrivateKey parsePrivateKey(String pem) {
    return readPrivateKey(new StringReader(pem), "the PEM key");
  }

  private static X509Certificate readCertificate(Path file) {
    try {
      return parseCertificate(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException | HiveException e) {
      throw new HiveException(file + " is missing or corrupted (" + e.getMessage() + "); remove " + file.getParent() + " and join the cluster again with its token");
    }
  }

  private static PrivateKey readPrivateKey(Path file) {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return readPrivateKey(r, file.toString());
    } catch (IOException e) {
      throw new HiveException(file + " is missing or unreadable (" + e.getMessage() + "); remove " + file.getParent() + " and join the cluster again with its token");
    }
  }

  private static PrivateKey readPrivateKey(Reader reader, String what) {
    try (PEMParser parser = new PEMParser(reader)) {
      Object o = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (o instanceof PEMKeyPair pair) {
        return converter.getPrivateKey(pair.getPrivateKeyInfo());
      }
      if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      throw new HiveException(what + " holds no private key; remove the tls directory and join again");
    } catch (IOException e) {
      throw new HiveException(what + " is corrupted: " + e.getMessage() + "; remove the tls directory and join again", e);
    }
  }
}
