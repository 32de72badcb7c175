package dev.hive.core.node;

import dev.hive.api.Apps;
import dev.hive.api.Cluster;
import dev.hive.api.ClusterHealth;
import dev.hive.api.CommandStatus;
import dev.hive.api.HiveConfig;
import dev.hive.api.HiveEvent;
import dev.hive.api.Instance;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.Node;
import dev.hive.api.NotFoundException;
import dev.hive.api.Subscription;
import dev.hive.api.UnavailableException;
import dev.hive.api.WriteOptions;
import dev.hive.core.cluster.ClusterNode;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.monitor.Monitoring;
import dev.hive.core.reconcile.Reconciler;
import dev.hive.core.scheduler.SlotController;
import dev.hive.core.service.ServiceDiscovery;
import dev.hive.core.state.AppRecord;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import dev.hive.core.transfer.TransferService;
import dev.hive.core.vm.VmService;
import dev.hive.spi.RuntimeCapabilities;
import dev.hive.spi.Store;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running node: the owner of the store, the command log, the runtimes, the reconciler, the
 * threads and the REST API. Changes to desired state go through the command log; the reconciler
 * is woken after each one and on every workload exit.
 */
public final class LocalCluster implements Cluster {
  private static final Logger log = LoggerFactory.getLogger(LocalCluster.class);

  private final HiveConfig config;
  private final NodeRecord self;
  private final Store store;
  private final CommandLog commands;
  private final RuntimeRegistry runtimes;
  private final Reconciler reconciler;
  private final EventBus events;
  private final Clock clock;
  private final ScheduledExecutorService loop;
  private final List<AutoCloseable> closeables;
  private final LocalApps apps;
  private final ClusterInstances instances;
  private final ClusterNode clusterNode;
  private final ServiceDiscovery services;
  private final Monitoring monitoring;
  private final TransferService transfers;
  private final VmService vms;
  private volatile String apiUrl;
  private volatile String newBootstrapApiToken;
  private volatile boolean closed;

  LocalCluster(
      HiveConfig config,
      NodeRecord self,
      Store store,
      CommandLog commands,
      RuntimeRegistry runtimes,
      Reconciler reconciler,
      EventBus events,
      ScheduledExecutorService loop,
      List<AutoCloseable> closeables,
      ClusterNode clusterNode,
      ServiceDiscovery services,
      Monitoring monitoring,
      TransferService transfers,
      VmService vms) {
    this.transfers = transfers;
    this.vms = vms;
    this.clusterNode = clusterNode;
    this.services = services;
    this.monitoring = monitoring;
    this.config = config;
    this.self = self;
    this.store = store;
    this.commands = commands;
    this.runtimes = runtimes;
    this.reconciler = reconciler;
    this.events = events;
    this.clock = config.clock();
    this.loop = loop;
    this.closeables = closeables;
    this.instances = new ClusterInstances(self, commands, reconciler, monitoring, clusterNode);
    this.apps = new LocalApps(this, self, commands, runtimes, reconciler, services, events, clock);
  }

  void startLoop(Duration tickInterval) {
    commands.onApplied(s -> wake());
    runtimes.onExit(s -> wake());
    if (clusterNode != null) {
      instances.attach();
    }
    services.proxy().ifPresent(proxy -> reconciler.countConnectionsWith(proxy::openConnections));
    monitoring.countRuntimeSkips(reconciler::skippedRuntimePasses);
    if (clusterNode != null) {
      transfers.attach(clusterNode);
      vms.attach(clusterNode);
      services.attach(clusterNode);
      long sync = services.syncInterval().toMillis();
      loop.scheduleWithFixedDelay(() -> {
        try {
          services.sync();
        } catch (RuntimeException e) {
          log.warn("service endpoint sync failed: {}", e.getMessage());
        }
      }, sync, sync, TimeUnit.MILLISECONDS);
    }
    loop.scheduleWithFixedDelay(this::tickSafely, 0, tickInterval.toMillis(), TimeUnit.MILLISECONDS);
    // Sampling reads /proc and asks runtimes for stats, and pushing may wait on a slow API: its own thread.
    ScheduledExecutorService sampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hive-monitor");
      t.setDaemon(true);
      return t;
    });
    closeables.add(sampler::shutdownNow);
    long every = monitoring.interval().toMillis();
    sampler.scheduleWithFixedDelay(this::sampleSafely, 0, every, TimeUnit.MILLISECONDS);
  }

  private void sampleSafely() {
    try {
      monitoring.sample(reconciler.instances(), runtimes::get);
      if (clusterNode != null) {
        clusterNode.publishLoad(monitoring.gossipSummary());
      }
    } catch (RuntimeException e) {
      log.warn("sampling the node failed: {}", e.getMessage());
    }
  }

  @Override
  public VmService vms() {
    return vms;
  }

  @Override
  public TransferService transfers() {
    return transfers;
  }

  void setNewBootstrapApiToken(String secret) {
    this.newBootstrapApiToken = secret;
  }

  /**
   * Returns the cluster's first admin token when this start created it, for the daemon to show
   * once; it is also in the data dir's {@code api-token} file (0600).
   */
  public java.util.Optional<String> newBootstrapApiToken() {
    return java.util.Optional.ofNullable(newBootstrapApiToken);
  }

  void setApiUrl(String url) {
    this.apiUrl = url;
  }

  /** Runs a reconcile pass soon, on the loop thread. */
  void wake() {
    try {
      loop.execute(this::tickSafely);
    } catch (RejectedExecutionException e) {
      // Closed.
    }
  }

  private void tickSafely() {
    try {
      if (isPlacer()) {
        placeUnassignedSlots();
      }
      reconciler.tick();
      services.update(commands.state(), self, reconciler.instances());
    } catch (RuntimeException e) {
      log.error("reconcile pass failed", e);
    }
  }

  /** One node places slots: the only node, or the consensus leader. */
  private boolean isPlacer() {
    return clusterNode == null || clusterNode.isLeader();
  }

  /** The leader's pass: release slots of lost nodes, advance restarts and drains, place what waits. */
  private void placeUnassignedSlots() {
    Map<String, dev.hive.core.cluster.Member> members = memberStates();
    java.util.function.Function<String, dev.hive.api.NodeState> liveness = id -> {
      if (clusterNode == null || id.equals(self.id())) {
        return dev.hive.api.NodeState.ALIVE;
      }
      dev.hive.core.cluster.Member m = members.get(id);
      return m == null ? null : m.state();
    };
    for (Command command : SlotController.plan(commands.state(), liveness)) {
      try {
        commands.submit(command);
        if (command instanceof Command.AssignSlots a) {
          monitoring.placed(a.assignments().size());
        } else if (command instanceof Command.UnassignSlots u) {
          monitoring.healed((int) u.from().values().stream().filter(node -> {
            dev.hive.api.NodeState st = liveness.apply(node);
            return st == null || st == dev.hive.api.NodeState.DEAD || st == dev.hive.api.NodeState.LEFT;
          }).count());
        }
      } catch (NotFoundException | InvalidSpecException e) {
        // The state moved on since the plan (an app deleted meanwhile): the next pass plans afresh.
        log.debug("placement step skipped: {}", e.getMessage());
      }
    }
  }

  ClusterState submit(Command command) {
    return submit(command, WriteOptions.DEFAULTS);
  }

  /**
   * Submits a write and, on the placer, places what it left waiting. Not synchronized: writes
   * wait on the log concurrently (twenty writes to a node cut off from the majority each answer
   * within their own deadline, not one after another); the placement loop already runs beside them.
   */
  ClusterState submit(Command command, WriteOptions options) {
    checkOpen();
    ClusterState state = commands.submit(command, options.id().orElse(null));
    if (isPlacer()) {
      try {
        placeUnassignedSlots();
      } catch (RuntimeException e) {
        // The write applied: a placement that fails now must not make it look refused; the loop places again.
        log.warn("placing after a write failed: {}", e.getMessage());
      }
    }
    return state;
  }

  private void checkOpen() {
    if (closed) {
      throw new UnavailableException("this Hive node is closed; start a new one with Hive.builder()...start()");
    }
  }

  ClusterState state() {
    return commands.state();
  }

  /** Returns the log index this node's state reflects: its Raft server's applied index, a client's copy's, or a single node's command count. */
  public long stateIndex() {
    return clusterNode == null ? commands.state().index() : clusterNode.stateIndex();
  }

  /**
   * Waits until this node's state holds every write committed before the call, so that the
   * reads that follow are linearizable ({@code ?consistent=true}).
   *
   * @throws UnavailableException if no leader confirms its commit index within the write timeout
   */
  public void awaitCurrentState() {
    checkOpen();
    commands.currentState();
  }

  @Override
  public CommandStatus commandStatus(String requestId) {
    checkOpen();
    WriteOptions.requestId(requestId);
    return commands.status(requestId);
  }

  /** Returns true when the write's request id is known to have applied already (a retry). */
  boolean appliedBefore(WriteOptions options) {
    if (options.id().isEmpty()) {
      return false;
    }
    try {
      return commands.status(options.id().get()).state() == CommandStatus.State.APPLIED;
    } catch (NotFoundException e) {
      return false;
    }
  }

  /** Returns this node's metrics in the Prometheus text format. */
  public String prometheusText() {
    return monitoring.scrape();
  }

  /** Returns a node's load summary: this node's latest sample, another's from membership gossip. */
  public Map<String, String> loadOf(String nodeId) {
    if (nodeId.equals(self.id()) || clusterNode == null) {
      return nodeId.equals(self.id()) ? monitoring.gossipSummary() : Map.of();
    }
    return clusterNode.members().stream().filter(m -> m.id().equals(nodeId)).findFirst()
        .map(m -> {
          Map<String, String> load = new java.util.TreeMap<>();
          m.meta().forEach((k, v) -> {
            if (k.startsWith("load.")) {
              load.put(k, v);
            }
          });
          return (Map<String, String>) load;
        }).orElse(Map.of());
  }

  /** Returns this node's service discovery: catalog, proxy and DNS. */
  public ServiceDiscovery services() {
    return services;
  }

  /** Returns the last few hundred events, oldest first. */
  public List<HiveEvent> recentEvents() {
    return events.recent();
  }

  /** Returns what the discovery plugin says about this node, e.g. libp2p's peerId and multiaddrs. */
  public Map<String, String> discoveryDetails() {
    return clusterNode.discoveryDetails();
  }

  /** Returns the local node's facts, its runtimes and what they can do, for {@code hive node info}. */
  public Map<String, Object> nodeDetails() {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("hostname", dev.hive.core.monitor.NodeFacts.hostName());
    details.putAll(monitoring.node().system());
    details.put("cpus", dev.hive.core.monitor.NodeFacts.cpus());
    details.put("memoryTotalBytes", dev.hive.core.monitor.NodeFacts.memoryBytes());
    details.put("java", System.getProperty("java.version"));
    details.put("dataDir", config.dataDir().toString());
    List<Map<String, Object>> runtimeDetails = new ArrayList<>();
    runtimes.createdRuntimes().forEach((name, runtime) -> {
      RuntimeCapabilities caps = runtime.capabilities();
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("name", name);
      r.put("default", name.equals(runtimes.defaultName()));
      r.put("runsCommands", caps.runsCommands());
      r.put("runsImages", caps.runsImages());
      r.put("resourceLimits", caps.resourceLimits());
      r.put("resourceLimitsNote", caps.resourceLimitsNote());
      runtimeDetails.add(r);
    });
    details.put("runtimes", runtimeDetails);
    Map<String, Object> serviceDetails = new LinkedHashMap<>();
    serviceDetails.put("domain", services.domain());
    serviceDetails.put("dnsPort", services.dns().map(d -> (Object) d.port()).orElse(null));
    serviceDetails.put("proxyAddress", services.proxy().isPresent() ? services.proxyAddress() : null);
    details.put("services", serviceDetails);
    details.put("system", monitoring.node().system());
    monitoring.latest().ifPresent(sample -> details.put("metrics", dev.hive.core.monitor.NodeMonitor.describe(sample)));
    details.put("metricsHistory", monitoring.node().history().size());
    monitoring.exporter().ifPresent(e -> details.put("monitoringExporter", e.stats()));
    details.put("availableRuntimes", runtimes.known());
    return details;
  }

  /**
   * Returns an app as the cluster state holds it (slots, pending reason).
   *
   * @throws NotFoundException if there is no such app
   */
  public AppRecord appRecord(String app) {
    AppRecord record = commands.state().apps().get(app);
    if (record == null) {
      throw new NotFoundException("there is no app named '" + app + "'");
    }
    return record;
  }

  /** Returns the restart generation of an app. */
  public int generation(String app) {
    AppRecord record = commands.state().apps().get(app);
    if (record == null) {
      throw new NotFoundException("there is no app named '" + app + "'");
    }
    return record.generation();
  }

  void publish(HiveEvent event) {
    events.publish(event);
  }

  RuntimeRegistry runtimes() {
    return runtimes;
  }

  HiveConfig config() {
    return config;
  }

  @Override
  public Node localNode() {
    NodeRecord current = commands.state().nodes().getOrDefault(self.id(), self);
    return view(current, memberStates(), roles());
  }

  @Override
  public List<Node> nodes() {
    Map<String, dev.hive.core.cluster.Member> members = memberStates();
    Map<String, dev.hive.api.NodeRole> roles = roles();
    List<Node> nodes = new ArrayList<>();
    commands.state().nodes().values().forEach(n -> nodes.add(view(n, members, roles)));
    return nodes;
  }

  private Map<String, dev.hive.core.cluster.Member> memberStates() {
    Map<String, dev.hive.core.cluster.Member> byId = new java.util.HashMap<>();
    if (clusterNode != null) {
      clusterNode.members().forEach(m -> byId.put(m.id(), m));
    }
    return byId;
  }

  private Map<String, dev.hive.api.NodeRole> roles() {
    return clusterNode == null ? Map.of(self.id(), dev.hive.api.NodeRole.LEADER) : clusterNode.roles();
  }

  private Node view(NodeRecord n, Map<String, dev.hive.core.cluster.Member> members, Map<String, dev.hive.api.NodeRole> roles) {
    boolean local = n.id().equals(self.id());
    dev.hive.core.cluster.Member m = members.get(n.id());
    dev.hive.api.NodeState state = local || m == null ? (local ? dev.hive.api.NodeState.ALIVE : dev.hive.api.NodeState.SUSPECT) : m.state();
    java.time.Instant lastSeen = local ? clock.instant() : m == null || m.lastSeenMillis() == 0 ? java.time.Instant.EPOCH : java.time.Instant.ofEpochMilli(m.lastSeenMillis());
    return Views.NodeView.of(n, local, state, roles.getOrDefault(n.id(), dev.hive.api.NodeRole.CLIENT), lastSeen);
  }

  @Override
  public Apps apps() {
    return apps;
  }

  @Override
  public Node drain(String node, boolean enable) {
    NodeRecord target = resolveNode(node);
    submit(new Command.SetDraining(target.id(), enable));
    events.publish(new HiveEvent(HiveEvent.Type.NODE_DRAINED, clock.instant(), null, null, null,
        "node " + target.name() + (enable ? " drained: its replicas move one slot at a time" : " no longer drained")));
    return nodes().stream().filter(n -> n.id().equals(target.id())).findFirst().orElseThrow();
  }

  /**
   * Returns the node with this id or name.
   *
   * @throws NotFoundException if none has it
   */
  NodeRecord resolveNode(String idOrName) {
    ClusterState state = commands.state();
    NodeRecord byId = state.nodes().get(idOrName);
    if (byId != null) {
      return byId;
    }
    List<NodeRecord> byName = state.nodes().values().stream().filter(n -> n.name().equals(idOrName)).toList();
    if (byName.size() == 1) {
      return byName.get(0);
    }
    throw new NotFoundException(byName.isEmpty() ? "there is no node '" + idOrName + "'; `hive node ls` lists them"
        : "several nodes are named '" + idOrName + "'; give its id: " + byName.stream().map(NodeRecord::id).toList());
  }

  /** Returns the instances this node runs. */
  List<Instance> localInstances() {
    return instances.local();
  }

  /** Returns every instance in the cluster (asking each live member), ordered by app then ordinal. */
  public List<Instance> instances() {
    return instances.all();
  }

  /**
   * Returns the instance with this id.
   *
   * @throws NotFoundException if there is none
   */
  public Instance instance(String id) {
    return instances.get(id);
  }

  /**
   * Returns the last lines of an instance's output.
   *
   * @throws NotFoundException if there is no such instance
   */
  public List<String> logs(String instanceId, int lines) {
    return instances.logs(instanceId, lines);
  }

  /** Returns the latest resource samples of every instance in the cluster (asking each live member). */
  public List<dev.hive.core.monitor.InstanceSample> instanceMetrics() {
    return instances.metrics();
  }

  /**
   * The consensus group as this server holds it: each member's id, Raft address and whether it
   * votes, voters first (Nomad's and Consul's operator raft configuration). A standby, which
   * `hive node ls` on a client lists as a SERVER, is here a member that does not vote yet.
   *
   * @throws dev.hive.api.NotFoundException on a client, which holds no consensus state
   */
  public List<dev.hive.core.consensus.RaftCommandLog.Peer> consensusConfiguration() {
    checkOpen();
    if (clusterNode == null) {
      return List.of(new dev.hive.core.consensus.RaftCommandLog.Peer(self.id(), "", true));
    }
    dev.hive.core.consensus.RaftCommandLog raft = clusterNode.raft();
    if (raft == null) {
      throw new dev.hive.api.NotFoundException("node " + self.id() + " is a client: it holds no consensus configuration; ask a server (`hive node ls`"
          + " lists them)");
    }
    return raft.configuration();
  }

  /** Returns the leader this node knows, or null. */
  public String leaderId() {
    return clusterNode == null ? self.id() : clusterNode.leaderId();
  }

  @Override
  public ClusterHealth health() {
    Map<String, String> checks = new LinkedHashMap<>();
    checks.put("store", storeCheck());
    checks.put("runtime:" + runtimes.defaultName(), "ok");
    checks.put("reconciler", closed ? "closed" : "ok");
    if (clusterNode != null) {
      String leader = clusterNode.leaderId();
      checks.put("consensus", leader != null ? "ok" : "no leader known: this node may be cut off from the majority");
      String lag;
      try {
        lag = clusterNode.lag();
      } catch (RuntimeException e) {
        lag = "unknown: " + e.getMessage();
      }
      checks.put("consensus-lag", lag);
    }
    long unhealthy = instances().stream().filter(i -> !i.healthy()).count();
    checks.put("instances", unhealthy == 0 ? "ok" : unhealthy + " not healthy (see `hive app containers`)");
    boolean healthy = checks.entrySet().stream().filter(e -> !e.getKey().equals("instances")).allMatch(e -> e.getValue().equals("ok"));
    return new Views.HealthView(healthy, checks);
  }

  private String storeCheck() {
    try {
      store.revision();
      return "ok";
    } catch (RuntimeException e) {
      return "failing: " + e.getMessage();
    }
  }

  @Override
  public Subscription subscribe(Consumer<HiveEvent> listener) {
    return events.subscribe(listener);
  }

  @Override
  public String apiUrl() {
    if (apiUrl == null) {
      throw new UnavailableException("the REST API is off; enable it with Hive.builder().httpPort(port)");
    }
    return apiUrl;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    loop.shutdownNow();
    try {
      loop.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (int i = closeables.size() - 1; i >= 0; i--) {
      try {
        closeables.get(i).close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", closeables.get(i), e.getMessage());
      }
    }
  }

  /** Returns true when this node created its cluster (and its CA) on this start. */
  public boolean createdCluster() {
    return clusterNode != null && clusterNode.createdCluster;
  }

  /** Returns the join token, on a cluster member that holds it. */
  public java.util.Optional<String> joinToken() {
    return clusterNode == null || clusterNode.token == null ? java.util.Optional.empty() : java.util.Optional.of(clusterNode.token.value());
  }

  /**
   * Tells this node about more addresses to reach (`hive join`).
   *
   * @throws InvalidSpecException if this node runs alone
   */
  public Map<String, String> join(List<String> hostPorts) {
    if (clusterNode == null) {
      throw new InvalidSpecException("host", "this node runs alone; start it with --port (and --seeds) to be part of a cluster");
    }
    List<dev.hive.spi.DiscoveredPeer> peers = ClusterNode.parseSeeds(hostPorts);
    clusterNode.addSeeds(peers);
    // Each host is dialled once, in parallel, so the caller learns at once which one it mistyped.
    Map<String, java.util.concurrent.CompletableFuture<String>> probes = new java.util.LinkedHashMap<>();
    for (int i = 0; i < peers.size(); i++) {
      dev.hive.spi.DiscoveredPeer peer = peers.get(i);
      probes.put(hostPorts.get(i), java.util.concurrent.CompletableFuture.supplyAsync(() -> probe(peer.host(), peer.port())));
    }
    Map<String, String> results = new java.util.LinkedHashMap<>();
    probes.forEach((host, probe) -> results.put(host, probe.join()));
    return results;
  }

  /** Whether a cluster port answers at host:port: reached, refused (nothing listens) or unreachable. */
  private static String probe(String host, int port) {
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.connect(new java.net.InetSocketAddress(host, port), 2_000);
      return "reached";
    } catch (java.net.ConnectException e) {
      return "refused";
    } catch (java.io.IOException e) {
      return "unreachable";
    }
  }

  /** Returns the API token whose secret this is, while it is valid. */
  public java.util.Optional<dev.hive.core.state.TokenRecord> apiToken(String secret) {
    return dev.hive.core.security.ApiTokens.find(state(), secret, clock.millis());
  }

  /** Returns the API tokens, by name (their hashes, never their secrets). */
  public java.util.Collection<dev.hive.core.state.TokenRecord> apiTokens() {
    return state().tokens().values();
  }

  /**
   * Creates an API token from a new secret and returns the secret: the only time it is known.
   *
   * @param ttl how long it works, or null for ever
   * @throws InvalidSpecException if the name or role is not valid
   * @throws dev.hive.api.ConflictException if a token has that name
   */
  public String createApiToken(String name, String role, java.time.Duration ttl, WriteOptions options) {
    String secret = dev.hive.core.security.ApiTokens.newSecret();
    long now = clock.millis();
    dev.hive.core.state.TokenRecord token =
        new dev.hive.core.state.TokenRecord(name, role, dev.hive.core.security.ApiTokens.sha256(secret), now, ttl == null ? 0 : now + ttl.toMillis());
    ClusterState after = submit(new Command.CreateToken(token, false), options);
    dev.hive.core.state.TokenRecord stored = after.tokens().get(name);
    if (stored == null || !stored.sha256().equals(token.sha256())) {
      // A retry of a request that applied before: its secret was in the first answer only.
      throw new dev.hive.api.ConflictException("this request created token '" + name + "' before, and its secret was shown then only; "
          + "revoke it with `hive token revoke " + name + "` and create it again");
    }
    return secret;
  }

  /**
   * Revokes an API token: it stops working on every node as the revocation applies there.
   *
   * @throws NotFoundException if there is no token of that name
   */
  public void revokeApiToken(String name, WriteOptions options) {
    submit(new Command.RevokeToken(dev.hive.core.state.TokenRecord.checkName(name)), options);
  }

  /** For tests and the API: the executor that runs reconcile passes. */
  ExecutorService loop() {
    return loop;
  }
}
