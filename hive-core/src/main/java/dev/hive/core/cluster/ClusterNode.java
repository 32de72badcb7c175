package dev.hive.core.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.HiveConfig;
import dev.hive.api.HiveException;
import dev.hive.api.NodeRole;
import dev.hive.api.NodeState;
import dev.hive.api.UnavailableException;
import dev.hive.core.consensus.RaftCommandLog;
import dev.hive.core.follow.ChangeFeed;
import dev.hive.core.follow.FollowedLog;
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
 * transport with mutual TLS, SWIM membership over it, and its part in the cluster state: a
 * server holds the Raft log, a client follows a server's copy of it ({@link Role}). Requests
 * arriving on the transport are routed here by topic.
 */
public final class ClusterNode implements AutoCloseable {
  static final int DEFAULT_PORT = 7946;
  static final String RAFT_CONF = "hive.raft.conf";
  static final String RAFT_ADD = "hive.raft.add";
  /** How many nodes form a new cluster together, as Consul's {@code bootstrap-expect}. */
  static final String FORMATION_EXPECT = "hive.formation.expect";
  /** {@code server}, {@code client} or {@code auto} (the default): see {@link Role}. */
  public static final String ROLE = "hive.role";
  /** How many servers the cluster keeps: 1, 3 (the default) or 5. */
  public static final String SERVERS = "hive.servers";
  /** Where a node keeps the role it was given when it joined: it keeps it across restarts. */
  static final String ROLE_FILE = "role";

  /**
   * A node's part in consensus. Servers hold the Raft log and vote; clients follow the state
   * from a server ({@link FollowedLog}) and write through it. Both run workloads. An {@code auto}
   * node becomes a server while the cluster has fewer than its target of servers, else a client.
   */
  public enum Role {
    SERVER, CLIENT, AUTO;

    static Role parse(String value) {
      for (Role r : values()) {
        if (r.name().equalsIgnoreCase(value.trim())) {
          return r;
        }
      }
      throw new HiveException(ROLE + " is '" + value + "'; give server, client or auto (the default: a server while the cluster has fewer than "
          + SERVERS + ", else a client)");
    }
  }

  /** The number of servers the cluster keeps ({@value #SERVERS}): 1, 3 or 5. */
  static int targetServers(Map<String, String> settings) {
    String value = settings.getOrDefault(SERVERS, "3").trim();
    if (!value.equals("1") && !value.equals("3") && !value.equals("5")) {
      throw new HiveException(SERVERS + " is '" + value + "'; give 1, 3 or 5: an odd number keeps a majority through a partition, and more than"
          + " five make every write slower without surviving more failures in practice");
    }
    return Integer.parseInt(value);
  }

  private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  public final String nodeId;
  final String clusterName;
  public final String advertiseHost;
  public final int port;
  final String raftAddress;
  public final JoinToken token;
  public final boolean createdCluster;
  final ClusterPki pki;

  /** The node's certificates and, as every member holds it, the cluster CA's key. */
  public ClusterPki pki() {
    return pki;
  }
  final Transport transport;
  final SwimMembership membership;
  /** This node's Raft server: null on a client. */
  volatile RaftCommandLog raft;
  /** This client's copy of the state: null on a server. */
  volatile FollowedLog follower;
  /** The log everything else on this node holds: the follower's, then the Raft server's once this client is made a server. */
  final RoleLog roleLog;
  /** How this node changes role when the leader asks, and what it runs in each. */
  private volatile RoleChanges roles;
  /** The servers' own upkeep: roles for joiners and, on the leader, the group's servers. */
  private final ServerKeeping keeping;

  private volatile List<DiscoveredPeer> joinServers = List.of();
  private final ScheduledExecutorService timers;
  final Map<String, Transport.Handler> handlers = new ConcurrentHashMap<>();
  volatile Map<String, String> baseMeta = Map.of();
  private volatile Discovery discoveryPlugin;

  private ClusterNode(String nodeId, String clusterName, String advertiseHost, int port, String raftAddress, JoinToken token, boolean created,
      ClusterPki pki, Transport transport, SwimMembership membership, RaftCommandLog raft, FollowedLog follower, int targetServers,
      ScheduledExecutorService timers) {
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
    this.follower = follower;
    this.roleLog = new RoleLog(raft != null ? raft : follower);
    this.keeping = new ServerKeeping(this, targetServers);
    this.timers = timers;
  }

  /**
   * Brings this node into its cluster: certificates, transport, consensus, membership.
   *
   * @param meta this node's self-description for the other members (name, API port, capacity)
   */
  public static ClusterNode start(HiveConfig config, String nodeId, Path dataDir, Map<String, String> meta, List<AutoCloseable> closeables) {
    Path tlsDir = dataDir.resolve("tls");
    int targetServers = targetServers(config.settings());
    Role asked = Role.parse(config.settings().getOrDefault(ROLE, "auto"));
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
      List<DiscoveredPeer> members = ClusterFormation.awaitFounder(nodeId, discovered, window, ClusterFormation.formationExpect(config), joinTimeout);
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
        ? new TcpTransport(nodeId, TlsContexts.member(pki, token))
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
    Path raftDir = dataDir.resolve("raft");
    boolean raftExists = Files.isDirectory(raftDir.resolve(RaftCommandLog.groupIdOf(config.clusterName()).getUuid().toString()));
    Path roleFile = dataDir.resolve(ROLE_FILE);
    // A node restarted keeps its role: with Raft storage it is a server (so is every node of a
    // cluster from before roles, whose leader then keeps the servers it needs); a client stays one.
    Role role;
    List<RaftCommandLog.Peer> initial = new ArrayList<>();
    DiscoveredPeer adder = null;
    List<DiscoveredPeer> joinServers = List.of();
    if (raftExists) {
      role = Role.SERVER;
    } else if (readRole(roleFile) == Role.CLIENT) {
      role = Role.CLIENT;
    } else if (created || seeds.isEmpty()) {
      if (asked == Role.CLIENT) {
        throw new UnavailableException("a client follows servers, and this node has none to follow: give it --seeds of a member, or start it"
            + " without --client to found the cluster as its first server");
      }
      role = Role.SERVER;
    } else {
      ClusterFormation.JoinAnswer answer = ClusterFormation.askForConfiguration(transport, seeds, asked, joinTimeout);
      role = answer.role();
      if (role == Role.SERVER) {
        initial.addAll(answer.peers());
        adder = answer.seed();
      }
      joinServers = answer.servers();
    }
    writeRole(roleFile, role);

    Map<String, String> fullMeta = new java.util.LinkedHashMap<>(meta);
    fullMeta.put("role", role.name().toLowerCase(java.util.Locale.ROOT));
    if (asked == Role.AUTO) {
      // Only a node whose role the cluster chose says so: one started with --client or --server keeps its role.
      fullMeta.put("promotable", "true");
    }
    RaftCommandLog raft = null;
    FollowedLog follower = null;
    String raftAddress = null;
    Clock clock = config.clock();
    RaftCommandLog.Timing timing = RaftCommandLog.Timing.DEFAULTS;
    if (role == Role.SERVER) {
      int raftPort = config.port() == 0 ? freePort() : config.port() + 1;
      raftAddress = advertise + ":" + raftPort;
      // A node restarted on its storage keeps it, even when the group dropped it or made it a
      // member while it was down: its first election then gets it told to shut down, and it starts
      // again on the same storage until the leader takes it back (RaftCommandLog.rejoin). It once
      // moved its storage aside on the word of whichever member answered first, which may not yet
      // know that this node is a voter again: a voter that forgets what it acknowledged breaks Raft.
      if (!raftExists) {
        initial.add(new RaftCommandLog.Peer(nodeId, raftAddress, adder == null));
      }
      // The consensus port binds what the cluster port binds; the others reach it at the advertised address.
      raft = RaftCommandLog.start(config.clusterName(), nodeId, raftDir, config.bindAddress(), raftAddress, initial, pki, timing);
      closeables.add(raft);
      if (adder != null) {
        ClusterFormation.awaitAdmission(transport, adder, raft, raftAddress, joinTimeout);
      } else if (raftExists) {
        List<DiscoveredPeer> known = new ArrayList<>(seeds);
        known.addAll(ClusterFormation.readPeers(dataDir.resolve(ClusterFormation.KNOWN_PEERS_FILE), nodeId));
        ClusterFormation.askToBeTakenBack(transport, known, nodeId, raftAddress);
      }
      fullMeta.put("raft", raftAddress);
    } else {
      follower = new FollowedLog(transport, advertise, port, () -> self[0] == null ? List.of() : self[0].otherServers(), clock, timing.writeTimeout());
      closeables.add(follower);
    }

    Member me = new Member(nodeId, advertise, port, config.clock().millis(), NodeState.ALIVE, 0, 0, fullMeta);
    ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(daemon("hive-membership"));
    closeables.add(timers::shutdownNow);
    Path knownPeers = dataDir.resolve(ClusterFormation.KNOWN_PEERS_FILE);
    SwimMembership[] swim = new SwimMembership[1];
    SwimMembership membership = new SwimMembership(me, transport, clock, swimSettings(config), new Random(), (before, after) -> {
      if (before == null || before.state() != after.state()) {
        log.info("member {} ({}) is {}", after.id(), after.meta().getOrDefault("name", "?"), after.state());
        if (swim[0] != null) {
          ClusterFormation.rememberPeers(knownPeers, nodeId, swim[0].members());
        }

      }
    });
    swim[0] = membership;
    ClusterNode node = new ClusterNode(nodeId, config.clusterName(), advertise, port, raftAddress, token, created, pki, transport, membership, raft,
        follower, targetServers, timers);
    node.joinServers = joinServers;
    node.baseMeta = Map.copyOf(fullMeta);
    node.discoveryPlugin = discovery;
    self[0] = node;
    node.handlers.put("swim.", membership.handler());
    membership.addSeeds(seeds);
    // A restarted node reaches the members it knew: without them, one started with no seeds (the
    // founder) would stay DEAD in the others' view, since nobody probes a dead member.
    membership.addSeeds(ClusterFormation.readPeers(knownPeers, nodeId));
    if (discovery != null) {
      onMember.add(peer -> membership.addSeeds(List.of(peer)));
      membership.addSeeds(discovered.values().stream().filter(p -> p.port() > 0).toList());
      discovery.update(new DiscoveredPeer(nodeId, advertise, port));
    }
    timers.scheduleWithFixedDelay(() -> safely(membership::tick), 0, 50, TimeUnit.MILLISECONDS);
    node.roles = new RoleChanges(node, new RoleChanges.Setup(config.clusterName(), config.bindAddress(), config.port(), dataDir, clock, closeables));
    if (raft != null) {
      node.roles.serve(raft);
    } else {
      node.handlers.put(ChangeFeed.TOPICS, follower);
    }
    if (asked == Role.AUTO) {
      // Only a node whose role the cluster chose may have it changed by the leader.
      node.handlers.put(ServerKeeping.PROMOTE, (from, topic, payload) -> node.roles.takePromotion(from, payload));
      node.handlers.put(ServerKeeping.DEMOTE, (from, topic, payload) -> node.roles.takeDemotion(from));
    }
    // Whichever role the node has now: a client follows, a server feeds (and, on the leader, keeps the servers).
    timers.scheduleWithFixedDelay(() -> safely(node.roles::tick), 0, 250, TimeUnit.MILLISECONDS);
    // Reconfiguration blocks on the leader for up to seconds: it must not delay membership probes.
    ScheduledExecutorService voterMaintenance = Executors.newSingleThreadScheduledExecutor(daemon("hive-voters"));
    closeables.add(voterMaintenance::shutdownNow);
    voterMaintenance.scheduleWithFixedDelay(() -> safely(node.keeping::maintain), 2, 2, TimeUnit.SECONDS);
    closeables.add(membership::leave);
    return node;
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
    if (raft == null && (topic.equals(RAFT_CONF) || topic.equals(RAFT_ADD))) {
      return askAServer(topic, payload);
    }
    if (topic.equals(RAFT_CONF)) {
      return keeping.answerConfiguration(from, payload);
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

  /** On a client: a joiner's question about the group goes to a server. */
  private byte[] askAServer(String topic, byte[] payload) {
    String last = "no server known yet";
    for (DiscoveredPeer server : otherServers()) {
      try {
        return transport.request(server, topic, payload, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        last = server.nodeId() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
      }
    }
    throw new UnavailableException("node " + nodeId + " is a client and no server took the question (" + last + "); ask again");
  }

  /**
   * Returns the servers this node knows, by their cluster address: the members that announce
   * themselves servers or standbys (which follow the log and answer questions), this node
   * included, and those a client learnt when it joined; the leader first, then the live ones.
   * Servers membership holds DEAD stay in the list, last: a client cut off from every server
   * sees them all dead, and must find them again as soon as the cut heals, not once membership
   * has (which took 5-6 s more in PartitionIT). Only those that LEFT are out.
   */
  public List<DiscoveredPeer> servers() {
    Map<String, DiscoveredPeer> byId = new LinkedHashMap<>();
    java.util.Set<String> left = new java.util.HashSet<>();
    java.util.Set<String> dead = new java.util.HashSet<>();
    for (Member m : membership.members()) {
      if (m.state() == NodeState.LEFT) {
        left.add(m.id());
      } else if (RoleChanges.SERVER.equals(m.meta().get("role")) || RoleChanges.STANDBY.equals(m.meta().get("role"))
          || (m.id().equals(nodeId) && raft != null)) {
        byId.put(m.id(), m.peer());
        if (m.state() == NodeState.DEAD) {
          dead.add(m.id());
        }
      }
    }
    for (DiscoveredPeer p : joinServers) {
      if (!left.contains(p.nodeId())) {
        byId.putIfAbsent(p.nodeId(), p);
      }
    }
    List<DiscoveredPeer> result = new ArrayList<>(byId.values());
    String leader = leaderId();
    result.sort(java.util.Comparator.comparing((DiscoveredPeer p) -> !p.nodeId().equals(leader)).thenComparing(p -> dead.contains(p.nodeId()))
        .thenComparing(DiscoveredPeer::nodeId));
    return result;
  }

  /** The servers this node may follow: all it knows but itself. */
  List<DiscoveredPeer> otherServers() {
    return servers().stream().filter(p -> !p.nodeId().equals(nodeId)).toList();
  }

  private static Role readRole(Path file) {
    try {
      return Files.exists(file) ? Role.parse(Files.readString(file)) : null;
    } catch (IOException | HiveException e) {
      log.warn("cannot read this node's role from {} ({}); it asks the cluster again", file, e.getMessage());
      return null;
    }
  }

  static void writeRole(Path file, Role role) {
    try {
      Files.writeString(file, role.name().toLowerCase(java.util.Locale.ROOT) + "\n");
    } catch (IOException e) {
      throw new HiveException("cannot record this node's role in " + file + ": " + e.getMessage(), e);
    }
  }

  static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  static JsonNode parse(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new HiveException("malformed request: " + e.getMessage());
    }
  }

  /** Returns this server's Raft log, or null on a client. */
  public RaftCommandLog raft() {
    return raft;
  }

  /** Returns the log this node reads and writes the cluster state through: its Raft server's, or a client's copy. */
  public dev.hive.core.consensus.CommandLog commandLog() {
    return roleLog;
  }

  /** Returns whether this node is the leader (a client never is). */
  public boolean isLeader() {
    try {
      return raft != null && raft.isLeader();
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Returns the leader this node knows, or null. */
  public String leaderId() {
    try {
      RaftCommandLog server = raft;
      return server != null ? server.leaderId() : follower.leaderId();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** Returns the log index this node's state reflects. */
  public long stateIndex() {
    RaftCommandLog server = raft;
    try {
      return server != null ? server.appliedIndex() : follower.index();
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** Returns "ok", or why this node's state may trail the leader's. */
  public String lag() {
    RaftCommandLog server = raft;
    return server != null ? server.lag() : follower.lag();
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

  /**
   * Returns each node's role: a server knows the group's voters from Raft; every other member,
   * and every node as a client sees it, is a server or a client by what it announces.
   */
  public Map<String, NodeRole> roles() {
    Map<String, NodeRole> roles = new LinkedHashMap<>();
    String leader = leaderId();
    for (Member m : membership.members()) {
      boolean server = "server".equals(m.meta().get("role")) || (m.id().equals(nodeId) && raft != null);
      roles.put(m.id(), m.id().equals(leader) ? NodeRole.LEADER : server ? NodeRole.SERVER : NodeRole.CLIENT);
    }
    if (raft != null) {
      try {
        roles.putAll(raft.roles());
      } catch (RuntimeException e) {
        log.debug("no consensus roles now: {}", e.getMessage());
      }
    }
    return roles;
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

  static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UnavailableException("no free port for consensus: " + e.getMessage(), e);
    }
  }

  static void sleep(long ms) {
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
