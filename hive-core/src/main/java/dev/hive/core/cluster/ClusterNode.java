package dev.hive.core.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveConfig;
import dev.hive.api.HiveException;
import dev.hive.api.NodeRole;
import dev.hive.api.NodeState;
import dev.hive.api.UnavailableException;
import dev.hive.core.consensus.RaftCommandLog;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.JoinToken;
import dev.hive.core.security.TlsContexts;
import dev.hive.core.transport.tcp.TcpTransport;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import dev.hive.spi.DiscoveryProvider;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.ProviderSelection;
import dev.hive.spi.Transport;
import dev.hive.spi.TransportProvider;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What makes a node a cluster member: its certificate (created, or obtained by joining), the tcp
 * transport with mutual TLS, SWIM membership over it, and the Raft group that orders the cluster
 * state. Requests arriving on the transport are routed here by topic.
 */
public final class ClusterNode implements AutoCloseable {
  static final int DEFAULT_PORT = 7946;
  static final String RAFT_CONF = "hive.raft.conf";
  static final String RAFT_ADD = "hive.raft.add";
  /** How many nodes form a new cluster together, as Consul's {@code bootstrap-expect}. */
  static final String FORMATION_EXPECT = "hive.formation.expect";

  private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  public final String nodeId;
  final String clusterName;
  public final String advertiseHost;
  public final int port;
  final String raftAddress;
  public final JoinToken token;
  public final boolean createdCluster;
  private final ClusterPki pki;

  /** The node's certificates and, as every member holds it, the cluster CA's key. */
  public ClusterPki pki() {
    return pki;
  }
  private final Transport transport;
  private final SwimMembership membership;
  private final RaftCommandLog raft;
  private final ScheduledExecutorService timers;
  private final Map<String, Transport.Handler> handlers = new ConcurrentHashMap<>();
  private volatile Map<String, String> baseMeta = Map.of();
  private volatile Discovery discoveryPlugin;

  private ClusterNode(String nodeId, String clusterName, String advertiseHost, int port, String raftAddress, JoinToken token, boolean created,
      ClusterPki pki, Transport transport, SwimMembership membership, RaftCommandLog raft, ScheduledExecutorService timers) {
    this.nodeId = nodeId;
    this.clusterName = clusterName;
    this.advertiseHost = advertiseHost;
    this.port = port;
    this.raftAddress = raftAddress;
    this.token = token;
    this.createdCluster = created;
    this.pki = pki;
    this.transport = transport;
    this.membership = membership;
    this.raft = raft;
    this.timers = timers;
  }

  /**
   * Brings this node into its cluster: certificates, transport, consensus, membership.
   *
   * @param meta this node's self-description for the other members (name, API port, capacity)
   */
  public static ClusterNode start(HiveConfig config, String nodeId, Path dataDir, Map<String, String> meta, List<AutoCloseable> closeables) {
    Path tlsDir = dataDir.resolve("tls");
    String advertise = config.advertiseAddress().orElseGet(() -> advertiseFor(config.bindAddress()));
    List<DiscoveredPeer> seeds = parseSeeds(config.seeds());
    JoinToken token = config.joinToken().map(JoinToken::of).orElse(null);
    JoinToken stored = ClusterFormation.storedToken(tlsDir);
    if (token == null) {
      token = stored;
    }
    // Discovery (udp, mdns, a plugin) runs from the start: a node that is not a member yet
    // announces port 0, and finds members to join or, with none, agrees with the others who founds.
    DiscoveredPeer[] selfAnnouncement = new DiscoveredPeer[1];
    Map<String, DiscoveredPeer> discovered = new ConcurrentHashMap<>();
    List<Consumer<DiscoveredPeer>> onMember = new CopyOnWriteArrayList<>();
    Discovery discovery = null;
    String discoveryName = config.discovery().orElse("seeds");
    if (!discoveryName.equals("seeds")) {
      if (token == null) {
        throw new UnavailableException("discovery '" + discoveryName + "' needs the join token to sign announcements: give every node the same --token");
      }
      Map<String, String> settings = new LinkedHashMap<>(config.settings());
      settings.put(Discovery.TOKEN_SETTING, token.value());
      ProviderConfig providerConfig = new ProviderConfig(dataDir, config.clusterName(), nodeId, config.clock(), settings);
      discovery = ProviderSelection.load("discovery", DiscoveryProvider.class, config.plugins(), ClusterNode.class.getClassLoader())
          .select(discoveryName, providerConfig, Discovery.class).plugin();
      closeables.add(discovery);
      selfAnnouncement[0] = new DiscoveredPeer(nodeId, advertise, ClusterPki.exists(tlsDir) ? Math.max(config.port(), 0) : 0);
      discovery.start(selfAnnouncement[0], new Discovery.Listener() {
        @Override
        public void peerFound(DiscoveredPeer peer) {
          discovered.put(peer.nodeId(), peer);
          if (peer.port() > 0) {
            onMember.forEach(c -> c.accept(peer));
          }
        }

        @Override
        public void peerLost(DiscoveredPeer peer) {
          discovered.remove(peer.nodeId());
        }
      });
    }

    ClusterPki pki;
    boolean created = false;
    Duration joinTimeout = duration(config, "hive.join.timeout", Duration.ofSeconds(60));
    if (ClusterPki.exists(tlsDir)) {
      pki = ClusterPki.load(tlsDir);
      if (token != null && stored == null) {
        ClusterFormation.storeToken(tlsDir, token);
      }
    } else if (seeds.isEmpty() && discovery == null) {
      pki = ClusterPki.createCluster(tlsDir, config.clusterName(), nodeId);
      if (token == null) {
        token = JoinToken.generate();
      }
      ClusterFormation.storeToken(tlsDir, token);
      created = true;
    } else if (seeds.isEmpty()) {
      // The window must outlast the discovery's own latency: jmdns takes seconds to register and resolve.
      Duration window = duration(config, "hive.formation.window", discoveryName.equals("mdns") ? Duration.ofSeconds(20) : Duration.ofSeconds(3));
      List<DiscoveredPeer> members = awaitFounder(nodeId, discovered, window, formationExpect(config), joinTimeout);
      if (members.isEmpty()) {
        pki = ClusterPki.createCluster(tlsDir, config.clusterName(), nodeId);
        ClusterFormation.storeToken(tlsDir, token);
        created = true;
        log.info("no member found by {} discovery and this node has the lowest id: it founds cluster '{}'", discoveryName, config.clusterName());
      } else {
        pki = ClusterFormation.join(tlsDir, config.clusterName(), nodeId, token, members, joinTimeout, pluginJoiner(config, nodeId, dataDir, token));
        seeds = members;
      }
    } else {
      pki = ClusterFormation.join(tlsDir, config.clusterName(), nodeId, token, seeds, joinTimeout, pluginJoiner(config, nodeId, dataDir, token));
    }

    Transport transport = config.transport().equals("tcp")
        ? new TcpTransport(nodeId, TlsContexts.member(pki, token), pki.caCertificate())
        : pluginTransport(config, nodeId, dataDir, token);
    closeables.add(transport);
    ClusterNode[] self = new ClusterNode[1];
    ClusterPki admittingPki = pki;
    JoinToken admittingToken = token;
    int port = transport.listen(config.bindAddress(), config.port(), new Transport.Handler() {
      @Override
      public byte[] handle(String from, String topic, byte[] payload) {
        ClusterNode node = self[0];
        if (node != null) {
          return node.dispatch(from, topic, payload);
        }
        // Listening comes before consensus and membership are up: joiners may be admitted
        // already (that needs only the CA), everything else is asked again.
        if (topic.equals(TcpTransport.JOIN_TOPIC)) {
          return ClusterFormation.admit(admittingPki, admittingToken, config.clusterName(), from, payload);
        }
        throw new UnavailableException("node " + nodeId + " is still starting; ask again in a moment");
      }

      @Override
      public void handleChannel(String from, String topic, Transport.Channel channel) throws java.io.IOException {
        ClusterNode node = self[0];
        if (node == null) {
          channel.close();
          return;
        }
        node.dispatchChannel(from, topic, channel);
      }
    });
    int raftPort = config.port() == 0 ? freePort() : config.port() + 1;
    String raftAddress = advertise + ":" + raftPort;

    // Consensus: a new cluster starts a group of one; a joiner asks a member for the group and to be added.
    Path raftDir = dataDir.resolve("raft");
    boolean raftExists = Files.isDirectory(raftDir.resolve(RaftCommandLog.groupIdOf(config.clusterName()).getUuid().toString()));
    RaftCommandLog.Timing timing = RaftCommandLog.Timing.DEFAULTS;
    List<RaftCommandLog.Peer> initial = new ArrayList<>();
    DiscoveredPeer adder = null;
    // A node restarted on its storage keeps it, even when the group dropped it or made it a
    // member while it was down: its first election then gets it told to shut down, and it starts
    // again on the same storage until the leader takes it back (RaftCommandLog.rejoin). It once
    // moved its storage aside on the word of whichever member answered first, which may not yet
    // know that this node is a voter again: a voter that forgets what it acknowledged breaks Raft.
    if (!raftExists) {
      if (created || seeds.isEmpty()) {
        initial.add(new RaftCommandLog.Peer(nodeId, raftAddress, true));
      } else {
        adder = askForConfiguration(transport, seeds, initial, joinTimeout);
        initial.add(new RaftCommandLog.Peer(nodeId, raftAddress, false));
      }
    }
    // The consensus port binds what the cluster port binds; the others reach it at the advertised address.
    RaftCommandLog raft = RaftCommandLog.start(config.clusterName(), nodeId, raftDir, config.bindAddress(), raftAddress, initial, pki, timing);
    closeables.add(raft);
    if (adder != null) {
      awaitAdmission(transport, adder, raft, raftAddress, joinTimeout);
    } else if (raftExists) {
      List<DiscoveredPeer> known = new ArrayList<>(seeds);
      known.addAll(readPeers(dataDir.resolve(KNOWN_PEERS_FILE), nodeId));
      askToBeTakenBack(transport, known, nodeId, raftAddress);
    }

    Map<String, String> fullMeta = new java.util.LinkedHashMap<>(meta);
    fullMeta.put("raft", raftAddress);
    Member me = new Member(nodeId, advertise, port, config.clock().millis(), NodeState.ALIVE, 0, 0, fullMeta);
    Clock clock = config.clock();
    ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hive-membership");
      t.setDaemon(true);
      return t;
    });
    closeables.add(timers::shutdownNow);
    Path knownPeers = dataDir.resolve(KNOWN_PEERS_FILE);
    SwimMembership[] swim = new SwimMembership[1];
    SwimMembership membership = new SwimMembership(me, transport, clock, swimSettings(config), new Random(), (before, after) -> {
      if (before == null || before.state() != after.state()) {
        log.info("member {} ({}) is {}", after.id(), after.meta().getOrDefault("name", "?"), after.state());
        if (swim[0] != null) {
          rememberPeers(knownPeers, nodeId, swim[0].members());
        }

      }
    });
    swim[0] = membership;
    ClusterNode node = new ClusterNode(nodeId, config.clusterName(), advertise, port, raftAddress, token, created, pki, transport, membership, raft, timers);
    node.baseMeta = Map.copyOf(fullMeta);
    node.discoveryPlugin = discovery;
    self[0] = node;
    node.handlers.put("swim.", membership.handler());
    membership.addSeeds(seeds);
    // A restarted node reaches the members it knew: without them, one started with no seeds (the
    // founder) would stay DEAD in the others' view, since nobody probes a dead member.
    membership.addSeeds(readPeers(knownPeers, nodeId));
    if (discovery != null) {
      onMember.add(peer -> membership.addSeeds(List.of(peer)));
      membership.addSeeds(discovered.values().stream().filter(p -> p.port() > 0).toList());
      discovery.update(new DiscoveredPeer(nodeId, advertise, port));
    }
    timers.scheduleWithFixedDelay(() -> safely(membership::tick), 0, 50, TimeUnit.MILLISECONDS);
    // Reconfiguration blocks on the leader for up to seconds: it must not delay membership probes.
    ScheduledExecutorService voterMaintenance = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hive-voters");
      t.setDaemon(true);
      return t;
    });
    closeables.add(voterMaintenance::shutdownNow);
    voterMaintenance.scheduleWithFixedDelay(() -> safely(node::maintainVoters), 2, 2, TimeUnit.SECONDS);
    closeables.add(membership::leave);
    return node;
  }

  static final String KNOWN_PEERS_FILE = "known-peers";

  /** Keeps the members last seen, one {@code id host port} per line, written atomically. */
  private static void rememberPeers(Path file, String self, List<Member> members) {
    StringBuilder sb = new StringBuilder();
    for (Member m : members) {
      if (!m.id().equals(self) && m.state() != NodeState.LEFT) {
        sb.append(m.id()).append(' ').append(m.host()).append(' ').append(m.port()).append('\n');
      }
    }
    try {
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, sb.toString());
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      log.debug("cannot remember peers in {}: {}", file, e.getMessage());
    }
  }

  private static List<DiscoveredPeer> readPeers(Path file, String self) {
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
  private static List<DiscoveredPeer> awaitFounder(String nodeId, Map<String, DiscoveredPeer> discovered, Duration window, int expect, Duration timeout) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    long quietSince = start;
    int known = 0;
    while (System.nanoTime() < deadline) {
      sleep(250);
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
  private static int formationExpect(HiveConfig config) {
    String value = config.settings().getOrDefault(FORMATION_EXPECT, "0");
    try {
      int expect = Integer.parseInt(value.trim());
      if (expect >= 0) {
        return expect;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new HiveException(FORMATION_EXPECT + " is '" + value + "'; give the number of nodes that form the cluster together, e.g. 3");
  }

  /** A periodic task that fails is logged and runs again next time (an escaping throwable would cancel it). */
  private static void safely(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("cluster maintenance failed: {}", e.getMessage());
    } catch (Throwable e) {
      log.error("cluster maintenance failed", e);
    }
  }

  /**
   * Opens transport {@code config.transport()} from its provider, for {@code transportNodeId}. A
   * plugin transport (libp2p) authenticates members by the join token rather than by the CA's
   * certificates, so it needs the token.
   */
  private static Transport pluginTransport(HiveConfig config, String transportNodeId, Path dataDir, JoinToken token) {
    if (token == null) {
      throw new UnavailableException("transport '" + config.transport() + "' needs the join token to authenticate members: give every node the same --token");
    }
    Map<String, String> settings = new LinkedHashMap<>(config.settings());
    settings.put(Discovery.TOKEN_SETTING, token.value());
    ProviderConfig providerConfig = new ProviderConfig(dataDir, config.clusterName(), transportNodeId, config.clock(), settings);
    ProviderSelection<TransportProvider> providers =
        ProviderSelection.load("transport", TransportProvider.class, config.plugins(), ClusterNode.class.getClassLoader());
    if (!providers.names().contains(config.transport())) {
      List<String> known = new ArrayList<>(List.of("tcp"));
      known.addAll(providers.names());
      throw new UnavailableException("there is no transport named '" + config.transport() + "'; known: " + String.join(", ", known));
    }
    return providers.select(config.transport(), providerConfig, Transport.class).plugin();
  }

  /** Returns the transport a joiner asks for admission on, or null for tcp (its own TLS joiner). */
  private static Transport pluginJoiner(HiveConfig config, String nodeId, Path dataDir, JoinToken token) {
    return config.transport().equals("tcp") ? null : pluginTransport(config, TcpTransport.JOINER_PREFIX + nodeId, dataDir, token);
  }

  private static SwimMembership.Settings swimSettings(HiveConfig config) {
    SwimMembership.Settings d = SwimMembership.Settings.DEFAULTS;
    return new SwimMembership.Settings(duration(config, "hive.swim.period", d.protocolPeriod()), duration(config, "hive.swim.probe-timeout", d.probeTimeout()),
        d.indirectProbes(), duration(config, "hive.swim.min-suspicion", d.minSuspicion()), d.suspicionMultiplier(), d.retransmitMultiplier(),
        d.maxPiggyback(), d.syncInterval(), d.relayWait(), d.maxHealthScore());
  }

  private static Duration duration(HiveConfig config, String key, Duration fallback) {
    return new ProviderConfig(config.dataDir(), config.clusterName(), "-", config.clock(), config.settings()).duration(key, fallback);
  }

  /** Registers a handler for topics starting with {@code prefix}. */
  public void handle(String prefix, Transport.Handler handler) {
    handlers.put(prefix, handler);
  }

  private byte[] dispatch(String from, String topic, byte[] payload) {
    if (topic.equals(TcpTransport.JOIN_TOPIC)) {
      return ClusterFormation.admit(pki, token, clusterName, from, payload);
    }
    if (topic.equals(RAFT_CONF)) {
      return encodeConfiguration(raft.configuration());
    }
    if (topic.equals(RAFT_ADD)) {
      JsonNode request = parse(payload);
      String id = request.path("id").asText("");
      String address = request.path("address").asText("");
      if (!from.equals(id) || !address.matches("[^\\s:]+:\\d{1,5}")) {
        throw new HiveException("a node asks to add itself, at host:port; got id '" + id + "' from " + from + ", address '" + address + "'");
      }
      raft.requestAdd(id, address);
      return "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
    for (Map.Entry<String, Transport.Handler> h : handlers.entrySet()) {
      if (topic.startsWith(h.getKey())) {
        return h.getValue().handle(from, topic, payload);
      }
    }
    throw new HiveException("no handler for topic " + topic);
  }

  private void dispatchChannel(String from, String topic, Transport.Channel channel) throws java.io.IOException {
    for (Map.Entry<String, Transport.Handler> h : handlers.entrySet()) {
      if (topic.startsWith(h.getKey())) {
        h.getValue().handleChannel(from, topic, channel);
        return;
      }
    }
    channel.close();
  }

  private static DiscoveredPeer askForConfiguration(Transport transport, List<DiscoveredPeer> seeds, List<RaftCommandLog.Peer> into, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no seed answered";
    while (System.nanoTime() < deadline) {
      for (DiscoveredPeer seed : seeds) {
        try {
          JsonNode conf = parse(transport.request(seed, RAFT_CONF, new byte[0], Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS));
          for (JsonNode p : conf.path("peers")) {
            into.add(new RaftCommandLog.Peer(p.path("id").asText(), p.path("address").asText(), p.path("voter").asBoolean()));
          }
          return seed;
        } catch (Exception e) {
          last = seed.host() + ":" + seed.port() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
        }
      }
      sleep(1000);
    }
    throw new UnavailableException("cannot learn the consensus group from the seeds: " + last);
  }

  /**
   * Asks {@code member} to add this node to the consensus group, and waits until the group's own
   * configuration reaches this node listing it. The member answers at once (a change can take
   * seconds when many nodes join together), so the ask is repeated while no answer has come.
   */
  /**
   * A node restarted on its storage asks the members it knew, in the background, to add it to the
   * group: a no-op while it is in it; if the group dropped it while it was down (it left), the
   * leader takes it back at once instead of at its next maintenance round after this node's first
   * election got it shut down.
   */
  private static void askToBeTakenBack(Transport transport, List<DiscoveredPeer> known, String nodeId, String raftAddress) {
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
          transport.request(peer, RAFT_ADD, request, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
          return;
        } catch (Exception e) {
          log.debug("{} did not take the request to add this node back: {}", peer, e.getMessage());
        }
      }
    }, "hive-raft-rejoin-ask");
    t.setDaemon(true);
    t.start();
  }

  private static void awaitAdmission(Transport transport, DiscoveredPeer member, RaftCommandLog raft, String raftAddress, Duration timeout) {
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
        transport.request(member, RAFT_ADD, request, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        last = member.host() + ":" + member.port() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
      }
      long askAgainAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (System.nanoTime() < Math.min(askAgainAt, deadline)) {
        if (raft.admitted()) {
          return;
        }
        sleep(50);
      }
    }
    throw new UnavailableException("the cluster did not add this node to its consensus group within " + timeout.toSeconds() + " s (last: " + last
        + "); check that the members can reach this node's consensus port " + raftAddress);
  }

  private static byte[] encodeConfiguration(List<RaftCommandLog.Peer> peers) {
    ObjectNode o = JSON.createObjectNode();
    ArrayNode array = o.putArray("peers");
    peers.forEach(p -> array.addObject().put("id", p.id()).put("address", p.address()).put("voter", p.voter()));
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new HiveException("cannot encode the configuration", e);
    }
  }

  private static JsonNode parse(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new HiveException("malformed request: " + e.getMessage());
    }
  }

  /**
   * On the leader: replaces voters that membership holds DEAD or LEFT by live members, promotes
   * members while there are fewer than five voters, drops members that LEFT, and adds back a live
   * member the group does not hold: a node that left (SIGTERM) is dropped, and when it starts
   * again on its data dir it only knows its old configuration, so no one would ever send it the
   * log again (it stayed "no leader known" for minutes). As Consul's servers rejoin after a leave.
   */
  void maintainVoters() {
    if (!raft.isLeader()) {
      return;
    }
    Map<String, Member> byId = new java.util.HashMap<>();
    membership.members().forEach(m -> byId.put(m.id(), m));
    List<RaftCommandLog.Peer> conf = raft.configuration();
    for (Member m : byId.values()) {
      String raftAddress = m.meta().get("raft");
      if (m.state() == NodeState.ALIVE && raftAddress != null && conf.stream().noneMatch(p -> p.id().equals(m.id()))) {
        log.info("adding {} back to the consensus group: it is alive but not in the group (it left and started again)", m.id());
        raft.requestAdd(m.id(), raftAddress);
      }
    }
    List<RaftCommandLog.Peer> voters = new ArrayList<>();
    List<RaftCommandLog.Peer> spares = new ArrayList<>();
    List<RaftCommandLog.Peer> gone = new ArrayList<>();
    for (RaftCommandLog.Peer p : conf) {
      Member m = byId.get(p.id());
      NodeState state = p.id().equals(nodeId) ? NodeState.ALIVE : m == null ? NodeState.ALIVE : m.state();
      if (state == NodeState.LEFT) {
        gone.add(p);
      } else if (p.voter()) {
        voters.add(p);
      } else if (state == NodeState.ALIVE) {
        spares.add(p);
      }
    }
    // One change per round: Ratis refuses to change a majority of voters at once.
    boolean changed = !gone.isEmpty();
    List<RaftCommandLog.Peer> newVoters = new ArrayList<>(voters);
    RaftCommandLog.Peer dead = voters.stream().filter(p -> !p.id().equals(nodeId) && byId.containsKey(p.id())
        && byId.get(p.id()).state() == NodeState.DEAD).findFirst().orElse(null);
    if (!changed && !spares.isEmpty() && (dead != null || newVoters.size() < RaftCommandLog.MAX_VOTERS)) {
      spares.sort(java.util.Comparator.comparing(RaftCommandLog.Peer::id));
      RaftCommandLog.Peer promoted = spares.remove(0);
      newVoters.add(new RaftCommandLog.Peer(promoted.id(), promoted.address(), true));
      if (dead != null) {
        // Out of the group, not made a listener: a role change is two changes (setConfiguration),
        // and the second, adding a node that does not answer, would time out. When it is alive
        // again, the maintenance above adds it back.
        newVoters.remove(dead);
      }
      changed = true;
    }
    if (changed) {
      List<RaftCommandLog.Peer> next = new ArrayList<>(newVoters);
      spares.forEach(s -> next.add(new RaftCommandLog.Peer(s.id(), s.address(), false)));
      log.info("reconfiguring consensus: voters {} members {}", newVoters.stream().map(RaftCommandLog.Peer::id).toList(),
          spares.stream().map(RaftCommandLog.Peer::id).toList());
      raft.setConfiguration(conf, next);
    }
  }

  public RaftCommandLog raft() {
    return raft;
  }

  /** Returns what the discovery plugin says about this node (empty with seeds). */
  public Map<String, String> discoveryDetails() {
    Discovery d = discoveryPlugin;
    return d == null ? Map.of() : d.describe();
  }

  public Transport transport() {
    return transport;
  }

  public List<Member> members() {
    return membership.members();
  }

  public Map<String, NodeRole> roles() {
    try {
      return raft.roles();
    } catch (RuntimeException e) {
      return Map.of();
    }
  }

  /** Returns a member's transport address, if membership knows it. */
  public DiscoveredPeer peerOf(String id) {
    return membership.members().stream().filter(m -> m.id().equals(id)).findFirst().map(Member::peer).orElse(null);
  }

  /** Adds addresses to reach, e.g. from `hive join` or a discovery plugin. */
  public void addSeeds(List<DiscoveredPeer> peers) {
    membership.addSeeds(peers);
  }

  public static List<DiscoveredPeer> parseSeeds(List<String> seeds) {
    List<DiscoveredPeer> peers = new ArrayList<>();
    for (String s : seeds) {
      String host;
      int port = DEFAULT_PORT;
      if (s.startsWith("[")) {
        int close = s.indexOf(']');
        host = s.substring(1, close);
        if (close + 1 < s.length()) {
          port = Integer.parseInt(s.substring(close + 2));
        }
      } else {
        int colon = s.lastIndexOf(':');
        boolean hasPort = colon > 0 && s.indexOf(':') == colon;
        host = hasPort ? s.substring(0, colon) : s;
        port = hasPort ? Integer.parseInt(s.substring(colon + 1)) : DEFAULT_PORT;
      }
      peers.add(new DiscoveredPeer("seed@" + host + ":" + port, host, port));
    }
    return Collections.unmodifiableList(peers);
  }

  /** The address to announce when binding {@code bind}: itself, or this host's first IPv4 address. */
  static String advertiseFor(String bind) {
    if (!bind.equals("0.0.0.0")) {
      return bind;
    }
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nic.isUp() || nic.isLoopback()) {
          continue;
        }
        for (InetAddress a : Collections.list(nic.getInetAddresses())) {
          if (a instanceof Inet4Address) {
            return a.getHostAddress();
          }
        }
      }
    } catch (IOException e) {
      log.debug("cannot list interfaces: {}", e.getMessage());
    }
    return "127.0.0.1";
  }

  private static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UnavailableException("no free port for consensus: " + e.getMessage(), e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Spreads this node's load summary with its membership news (it keeps its name, ports and consensus address). */
  public void publishLoad(Map<String, String> load) {
    if (load.isEmpty()) {
      return;
    }
    Map<String, String> meta = new java.util.LinkedHashMap<>(baseMeta);
    meta.putAll(load);
    membership.updateMeta(meta);
  }

  /** Leaves gracefully: peers mark this node LEFT. */
  void leave() {
    membership.leave();
  }

  @Override
  public void close() {
    timers.shutdownNow();
  }
}
