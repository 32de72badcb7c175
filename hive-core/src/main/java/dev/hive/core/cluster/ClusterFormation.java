package dev.hive.core.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.JoinToken;
import dev.hive.core.security.TlsContexts;
import dev.hive.core.transport.tcp.TcpTransport;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a node gets its place in a cluster: the first node creates the cluster CA; a later node
 * proves it knows the join token (a self-signed certificate carrying an HMAC of its key), and a
 * member answers with a certificate signed by the CA, the CA itself, and an HMAC that proves the
 * member knows the token too -- so neither side learns anything from a party without it.
 */
final class ClusterFormation {
  private static final Logger log = LoggerFactory.getLogger(ClusterFormation.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private ClusterFormation() {}

  /** Reads the stored token, or returns null. */
  static JoinToken storedToken(Path tlsDir) {
    Path file = tlsDir.resolve("token");
    try {
      return Files.exists(file) ? JoinToken.of(Files.readString(file, StandardCharsets.UTF_8).trim()) : null;
    } catch (IOException e) {
      throw new HiveException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  static void storeToken(Path tlsDir, JoinToken token) {
    Path file = tlsDir.resolve("token");
    try {
      dev.hive.core.security.SecretFiles.write(file, (token.value() + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new HiveException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** The member side: answers a joiner that passed the TLS handshake with the token proof. */
  static byte[] admit(ClusterPki pki, JoinToken token, String clusterName, String fromNode, byte[] payload) {
    if (!fromNode.startsWith(TcpTransport.JOINER_PREFIX)) {
      throw new HiveException("only a joining node asks to join");
    }
    if (token == null) {
      throw new HiveException("this node does not hold the join token; ask another member");
    }
    try {
      JsonNode request = JSON.readTree(payload);
      String cluster = request.path("cluster").asText();
      if (!cluster.equals(clusterName)) {
        throw new HiveException("this is cluster '" + clusterName + "', not '" + cluster + "'; check --cluster");
      }
      String nodeId = fromNode.substring(TcpTransport.JOINER_PREFIX.length());
      java.security.PublicKey key = java.security.KeyFactory.getInstance("EC")
          .generatePublic(new java.security.spec.X509EncodedKeySpec(Base64.getDecoder().decode(request.path("publicKey").asText())));
      X509Certificate cert = pki.issue(nodeId, key);
      ObjectNode reply = JSON.createObjectNode();
      reply.put("caCert", ClusterPki.pem(pki.caCertificate()));
      reply.put("caKey", ClusterPki.pem(pki.caKey().orElseThrow()));
      reply.put("nodeCert", ClusterPki.pem(cert));
      reply.put("proof", Base64.getEncoder().encodeToString(token.mac("join-ca", concat(pki.caCertificate().getEncoded(), cert.getEncoded()))));
      log.info("admitted node {} to cluster {}", nodeId, clusterName);
      return JSON.writeValueAsBytes(reply);
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new HiveException("malformed join request: " + e.getMessage());
    }
  }

  /**
   * The joiner side: asks each seed in turn until one admits this node or {@code timeout} passes.
   *
   * @param pluginJoiner the transport to ask on when the cluster runs a plugin transport (closed
   *     here), or null for tcp's joiner TLS with a certificate derived from the token
   *
   * @throws UnavailableException saying why no seed admitted it
   */
  static ClusterPki join(Path tlsDir, String clusterName, String nodeId, JoinToken token, List<DiscoveredPeer> seeds, Duration timeout,
      Transport pluginJoiner) {
    if (token == null) {
      throw new UnavailableException("this node has no certificate and no join token: pass --token-file FILE or $HIVE_JOIN_TOKEN (a member prints it with `hive cluster token`)");
    }
    KeyPair keys = ClusterPki.newKeyPair();
    X509Certificate joinerCert = ClusterPki.joinerCertificate(keys, nodeId, token);
    Transport joiner = pluginJoiner != null ? pluginJoiner : new TcpTransport(nodeId, TlsContexts.joiner(keys, joinerCert), joinerCert);
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> failures = new ArrayList<>();
    try {
      ObjectNode request = JSON.createObjectNode();
      request.put("cluster", clusterName);
      request.put("publicKey", Base64.getEncoder().encodeToString(keys.getPublic().getEncoded()));
      byte[] body = JSON.writeValueAsBytes(request);
      do {
        for (DiscoveredPeer seed : seeds) {
          try {
            byte[] answer = joiner.request(seed, TcpTransport.JOIN_TOPIC, body, Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
            return accept(tlsDir, keys, token, answer, seed);
          } catch (ExecutionException e) {
            String why = e.getCause().getMessage();
            failures.add(seed.host() + ":" + seed.port() + ": " + why);
            if (why != null && why.contains("certificate")) {
              throw new UnavailableException("seed " + seed.host() + ":" + seed.port() + " refused this node at the TLS handshake:"
                  + " the join token is wrong (or the seed belongs to another cluster); check --token");
            }
            if (why != null && why.contains("refused this node")) {
              throw new UnavailableException(why);
            }
            if (why != null && why.startsWith("this is cluster")) {
              throw new UnavailableException("seed " + seed.host() + ":" + seed.port() + " says: " + why);
            }
          } catch (java.util.concurrent.TimeoutException e) {
            failures.add(seed.host() + ":" + seed.port() + ": timed out");
          }
        }
        Thread.sleep(1000);
      } while (System.nanoTime() < deadline);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      throw new HiveException("cannot encode the join request", e);
    } finally {
      joiner.close();
    }
    throw new UnavailableException("no seed admitted this node within " + timeout.toSeconds() + " s; last attempts: "
        + failures.subList(Math.max(0, failures.size() - seeds.size()), failures.size()) + "; check that the seeds run and are reachable");
  }

  private static ClusterPki accept(Path tlsDir, KeyPair keys, JoinToken token, byte[] answer, DiscoveredPeer seed) throws IOException {
    JsonNode reply = JSON.readTree(answer);
    X509Certificate ca = ClusterPki.parseCertificate(reply.path("caCert").asText());
    X509Certificate cert = ClusterPki.parseCertificate(reply.path("nodeCert").asText());
    byte[] proof = Base64.getDecoder().decode(reply.path("proof").asText());
    try {
      if (!token.verify("join-ca", concat(ca.getEncoded(), cert.getEncoded()), proof)) {
        throw new UnavailableException("seed " + seed.host() + ":" + seed.port() + " does not know the join token: refusing its CA");
      }
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new HiveException("unreadable certificate from the seed", e);
    }
    if (!TlsContexts.signedBy(cert, ca) || !cert.getPublicKey().equals(keys.getPublic())) {
      throw new UnavailableException("seed " + seed.host() + ":" + seed.port() + " returned a certificate that does not match this node's key");
    }
    ClusterPki pki = ClusterPki.joined(tlsDir, keys, cert, ca, ClusterPki.parsePrivateKey(reply.path("caKey").asText()));
    storeToken(tlsDir, token);
    return pki;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = new byte[a.length + b.length];
    System.arraycopy(a, 0, c, 0, a.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }
}
