package dev.hive.core.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveConfig;
import dev.hive.api.HiveException;
import dev.hive.api.NodeState;
import dev.hive.core.cluster.ClusterNode.Role;
import dev.hive.core.consensus.RaftCommandLog;
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
import java.util.Map;
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
    Transport joiner = pluginJoiner != null ? pluginJoiner : TcpTransport.joiner(nodeId, TlsContexts.joiner(keys, joinerCert));
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

  static final String KNOWN_PEERS_FILE = "known-peers";

  /** Keeps the members last seen, one {@code id host port} per line, written atomically. */
  static void rememberPeers(Path file, String self, List<Member> members) {
    StringBuilder sb = new StringBuilder();
    for (Member m : members) {
      if (!m.id().equals(self) && m.state() != NodeState.LEFT) {
        sb.append(m.id()).append(' ').append(m.host()).append(' ').append(m.port()).append('\n');
      }
    }
    Path tmp = null;
    try {
      // A file of its own per write: membership changes are told from several threads at once.
      tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
      Files.writeString(tmp, sb.toString());
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      log.debug("cannot remember peers in {}: {}", file, e.getMessage());
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // The directory is going away.
        }
      }
    }
  }

  static List<DiscoveredPeer> readPeers(Path file, String self) {
    List<DiscoveredPeer> peers = new ArrayList<>();
    if (!Files.exists(file)) {
      return peers;
    }
    try {
      for (String line : Files.readAllLines(file)) {
        String[] parts = line.trim().split(" ");
        if (parts.length == 3 && !parts[0].equals(self)) {
          try {
            peers.add(new DiscoveredPeer(parts[0], parts[1], Integer.parseInt(parts[2])));
          } catch (NumberFormatException e) {
            log.debug("ignoring a malformed line of {}: {}", file, line);
          }
        }
      }
    } catch (IOException e) {
      log.debug("cannot read {}: {}", file, e.getMessage());
    }
    return peers;
  }

  /**
   * Waits for discovery to settle who founds the cluster: returns the members found (to join one
   * of them), or an empty list when none exists and this node has the lowest id among the nodes
   * forming (so exactly one of them creates the CA).
   *
   * <p>With {@code expect} nodes forming together (Consul's and Nomad's {@code bootstrap-expect}),
   * the lowest id founds once it has found the {@code expect - 1} others, which is exact. Without,
   * it founds once no new node has turned up for {@code window} -- a guess that a discovery slower
   * than the window (a DHT of many nodes) can get wrong, founding two clusters.
   */
  static List<DiscoveredPeer> awaitFounder(String nodeId, Map<String, DiscoveredPeer> discovered, Duration window, int expect, Duration timeout) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    long quietSince = start;
    int known = 0;
    while (System.nanoTime() < deadline) {
      ClusterNode.sleep(250);
      List<DiscoveredPeer> members = discovered.values().stream().filter(p -> p.port() > 0).toList();
      if (!members.isEmpty()) {
        return members;
      }
      if (discovered.size() != known) {
        known = discovered.size();
        quietSince = System.nanoTime();
      }
      boolean lowest = discovered.values().stream().allMatch(p -> p.nodeId().compareTo(nodeId) > 0);
      boolean settled = expect > 0 ? known >= expect - 1 : System.nanoTime() - quietSince >= window.toNanos();
      if (lowest && settled) {
        return List.of();
      }
    }
    throw new UnavailableException(expect > 0 && known < expect - 1
        ? "discovery found " + known + " of the " + (expect - 1) + " other nodes bootstrap-expect " + expect + " waits for, within "
            + timeout.toSeconds() + " s: start them all, or lower --bootstrap-expect"
        : "discovery found nodes forming a cluster but none became a member within " + timeout.toSeconds() + " s: " + discovered.keySet());
  }

  /** The number of nodes forming the cluster together ({@code hive.formation.expect}), or 0 when not given. */
  static int formationExpect(HiveConfig config) {
    String value = config.settings().getOrDefault(ClusterNode.FORMATION_EXPECT, "0");
    try {
      int expect = Integer.parseInt(value.trim());
      if (expect >= 0) {
        return expect;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new HiveException(ClusterNode.FORMATION_EXPECT + " is '" + value + "'; give the number of nodes that form the cluster together, e.g. 3");
  }

  /** What a joiner learns from a member: the group to join as a server, the role it is given, and the servers to follow as a client. */
  record JoinAnswer(DiscoveredPeer seed, Role role, List<RaftCommandLog.Peer> peers, List<DiscoveredPeer> servers) {}

  static JoinAnswer askForConfiguration(Transport transport, List<DiscoveredPeer> seeds, Role asked, Duration timeout) {
    byte[] question;
    try {
      question = JSON.writeValueAsBytes(JSON.createObjectNode().put("role", asked.name().toLowerCase(java.util.Locale.ROOT)));
    } catch (IOException e) {
      throw new HiveException("cannot encode the question for the consensus group", e);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no seed answered";
    while (System.nanoTime() < deadline) {
      for (DiscoveredPeer seed : seeds) {
        try {
          JsonNode conf = ClusterNode.parse(transport.request(seed, ClusterNode.RAFT_CONF, question, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS));
          List<RaftCommandLog.Peer> peers = new ArrayList<>();
          for (JsonNode p : conf.path("peers")) {
            peers.add(new RaftCommandLog.Peer(p.path("id").asText(), p.path("address").asText(), p.path("voter").asBoolean()));
          }
          List<DiscoveredPeer> servers = new ArrayList<>();
          for (JsonNode p : conf.path("servers")) {
            servers.add(new DiscoveredPeer(p.path("id").asText(), p.path("host").asText(), p.path("port").asInt()));
          }
          // A member from before roles answers no role: every node was a server then.
          Role role = Role.parse(conf.path("role").asText("server"));
          log.info("joining as a {} (asked {}), through {}", role, asked, seed.host() + ":" + seed.port());
          return new JoinAnswer(seed, role, peers, servers);
        } catch (Exception e) {
          last = seed.host() + ":" + seed.port() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
        }
      }
      ClusterNode.sleep(1000);
    }
    throw new UnavailableException("cannot learn the consensus group from the seeds: " + last);
  }

  /**
   * A node restarted on its storage asks the members it knew, in the background, to add it to the
   * group: a no-op while it is in it; if the group dropped it while it was down (it left), the
   * leader takes it back at once instead of at its next maintenance round after this node's first
   * election got it shut down.
   */
  static void askToBeTakenBack(Transport transport, List<DiscoveredPeer> known, String nodeId, String raftAddress) {
    if (known.isEmpty()) {
      return;
    }
    Thread t = new Thread(() -> {
      byte[] request;
      try {
        request = JSON.writeValueAsBytes(JSON.createObjectNode().put("id", nodeId).put("address", raftAddress));
      } catch (IOException e) {
        return;
      }
      for (DiscoveredPeer peer : known) {
        try {
          transport.request(peer, ClusterNode.RAFT_ADD, request, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
          return;
        } catch (Exception e) {
          log.debug("{} did not take the request to add this node back: {}", peer, e.getMessage());
        }
      }
    }, "hive-raft-rejoin-ask");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Asks {@code member} to add this node to the consensus group, and waits until the group's own
   * configuration reaches this node listing it. The member answers at once (a change can take
   * seconds when many nodes join together), so the ask is repeated while no answer has come.
   */
  static void awaitAdmission(Transport transport, DiscoveredPeer member, RaftCommandLog raft, String raftAddress, Duration timeout) {
    byte[] request;
    try {
      request = JSON.writeValueAsBytes(JSON.createObjectNode().put("id", raft.nodeId()).put("address", raftAddress));
    } catch (IOException e) {
      throw new HiveException("cannot encode the request to join the consensus group", e);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        transport.request(member, ClusterNode.RAFT_ADD, request, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        last = member.host() + ":" + member.port() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
      }
      long askAgainAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (System.nanoTime() < Math.min(askAgainAt, deadline)) {
        if (raft.admitted()) {
          return;
        }
        ClusterNode.sleep(50);
      }
    }
    throw new UnavailableException("the cluster did not add this node to its consensus group within " + timeout.toSeconds() + " s (last: " + last
        + "); check that the members can reach this node's consensus port " + raftAddress);
  }
}
