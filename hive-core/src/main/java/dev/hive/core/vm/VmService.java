package dev.hive.core.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveEvent;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.Migration;
import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationOptions;
import dev.hive.api.MigrationPhase;
import dev.hive.api.MigrationState;
import dev.hive.api.MigrationStatus;
import dev.hive.api.NodeState;
import dev.hive.api.NotFoundException;
import dev.hive.api.OverwritePolicy;
import dev.hive.api.Subscription;
import dev.hive.api.Transfer;
import dev.hive.api.TransferOptions;
import dev.hive.api.TransferState;
import dev.hive.api.TransferStatus;
import dev.hive.api.UnavailableException;
import dev.hive.api.Vm;
import dev.hive.api.VmSpec;
import dev.hive.api.VmState;
import dev.hive.api.VmStatus;
import dev.hive.api.Vms;
import dev.hive.core.cluster.ClusterNode;
import dev.hive.core.cluster.Member;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.MigrationRecord;
import dev.hive.core.state.NodeRecord;
import dev.hive.core.state.Sizes;
import dev.hive.core.state.VmRecord;
import dev.hive.core.state.VmSpecCodec;
import dev.hive.core.transfer.TransferService;
import dev.hive.spi.VmRuntime;
import dev.hive.spi.VmStats;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's VMs as seen from one node: placement, the operations on a VM (forwarded to the
 * node whose hypervisor holds it), and migrations (run by the source node). Nodes talk over the
 * cluster's transport on topics {@code hive.vm.<op>} with JSON bodies; an error travels back as
 * {@code {"error": ..., "kind": ...}} and is thrown again as the same kind of exception.
 *
 * <p>Settings: {@code hive.vm.cold-shutdown-grace} (30s: how long COLD waits for the guest to
 * power off before it stops it), {@code hive.vm.migrate-address} (where peers send migration data
 * to this node; default {@code tcp://<advertised host>}).
 */
public final class VmService implements Vms, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VmService.class);
  static final String TOPIC = "hive.vm.";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

  private final String nodeId;
  private final Supplier<ClusterState> state;
  private final CommandLog commands;
  private final VmRuntime runtime;
  private final Function<String, VmRuntime> peerRuntime;
  private final TransferService transfers;
  private final Consumer<HiveEvent> events;
  private final Clock clock;
  private final Path workDir;
  private final Duration coldGrace;
  private final String migrateAddressSetting;
  private final Map<String, VmMigration> running = new ConcurrentHashMap<>();
  private final ExecutorService migrations = Executors.newCachedThreadPool(daemon("hive-vm-migration"));
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2, daemon("hive-vm-watch"));
  private volatile ClusterNode clusterNode;

  public VmService(String nodeId, Supplier<ClusterState> state, CommandLog commands, VmRuntime runtime, Function<String, VmRuntime> peerRuntime,
      TransferService transfers, Consumer<HiveEvent> events, Clock clock, Path workDir, Duration coldGrace, String migrateAddressSetting) {
    this.nodeId = nodeId;
    this.state = state;
    this.commands = commands;
    this.runtime = runtime;
    this.peerRuntime = peerRuntime;
    this.transfers = transfers;
    this.events = events;
    this.clock = clock;
    this.workDir = workDir;
    this.coldGrace = coldGrace;
    this.migrateAddressSetting = migrateAddressSetting;
    if (runtime != null) {
      runtime.onStateChange((vm, s) -> events.accept(new HiveEvent(HiveEvent.Type.VM_CHANGED, clock.instant(), null, null, null,
          "VM " + vm + " is " + s + " on " + nodeId)));
    }
  }

  /** Serves the other nodes, and settles migrations this node was running when it stopped. */
  public void attach(ClusterNode node) {
    this.clusterNode = node;
    node.handle(TOPIC, (from, topic, payload) -> serve(topic.substring(TOPIC.length()), payload));
    migrations.execute(this::recoverInterruptedMigrations);
  }

  // --- the public API ------------------------------------------------------------------------

  @Override
  public Vm create(VmSpec spec) {
    if (spec == null) {
      throw new InvalidSpecException("spec", "create needs a VmSpec (VmSpec.builder(name)...build())");
    }
    if (state.get().vms().containsKey(spec.name())) {
      throw new ConflictException("a VM named '" + spec.name() + "' exists; choose another name or remove it with `hive vm rm --name " + spec.name() + "`");
    }
    String node = place(spec);
    ObjectNode body = JSON.createObjectNode();
    body.set("spec", VmSpecCodec.toJson(JSON, spec));
    ask(node, "define", body);
    try {
      submit(new Command.CreateVm(spec, node, clock.millis()));
    } catch (RuntimeException e) {
      try {
        ask(node, "remove", JSON.createObjectNode().put("vm", spec.name()));
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    events.accept(new HiveEvent(HiveEvent.Type.VM_CHANGED, clock.instant(), null, null, null, "VM " + spec.name() + " created on " + node));
    return new VmHandle(spec.name());
  }

  @Override
  public Optional<Vm> get(String name) {
    return state.get().vms().containsKey(name) ? Optional.of(new VmHandle(name)) : Optional.empty();
  }

  @Override
  public Vm require(String name) {
    return get(name).orElseThrow(() -> new NotFoundException("there is no VM named '" + name + "'; `hive vm ls` lists them"));
  }

  @Override
  public List<VmStatus> list() {
    Map<String, List<VmRecord>> byNode = new TreeMap<>();
    state.get().vms().values().forEach(v -> byNode.computeIfAbsent(v.node(), n -> new ArrayList<>()).add(v));
    List<VmStatus> result = new ArrayList<>();
    byNode.forEach((node, vms) -> {
      ArrayNode names = JSON.createArrayNode();
      vms.forEach(v -> names.add(v.name()));
      Map<String, JsonNode> answers = new TreeMap<>();
      try {
        ask(node, "stats", JSON.createObjectNode().set("names", names), Duration.ofSeconds(5)).forEach(a -> answers.put(a.get("name").asText(), a));
      } catch (RuntimeException e) {
        log.debug("node {} did not report its VMs: {}", node, e.getMessage());
      }
      for (VmRecord v : vms) {
        JsonNode a = answers.get(v.name());
        result.add(a == null ? unknown(v) : status(v, a));
      }
    });
    result.sort(Comparator.comparing(VmStatus::name));
    return result;
  }

  private static VmStatus unknown(VmRecord v) {
    return new VmStatus(v.name(), v.node(), VmState.UNKNOWN, v.spec().vcpus(), v.spec().memoryBytes(), 0, 0, 0, 0, 0, v.migration());
  }

  private static VmStatus status(VmRecord v, JsonNode a) {
    return new VmStatus(v.name(), v.node(), VmState.valueOf(a.get("state").asText()), a.get("vcpus").asInt(), a.get("memoryBytes").asLong(),
        a.get("cpuTimeNanos").asLong(), a.get("blockReadBytes").asLong(), a.get("blockWriteBytes").asLong(), a.get("netRxBytes").asLong(),
        a.get("netTxBytes").asLong(), v.migration());
  }

  @Override
  public List<MigrationStatus> migrations() {
    List<MigrationStatus> result = new ArrayList<>();
    for (MigrationRecord m : state.get().migrations().values()) {
      VmMigration local = running.get(m.id());
      result.add(local != null ? local.status() : recorded(m));
    }
    result.sort(Comparator.comparing(MigrationStatus::startedAt).reversed());
    return result;
  }

  @Override
  public Migration migration(String id) {
    VmMigration local = running.get(id);
    if (local != null) {
      return local;
    }
    MigrationRecord m = state.get().migrations().get(id);
    if (m == null) {
      throw new NotFoundException("there is no migration '" + id + "'; `hive vm migrations` lists them");
    }
    return new RemoteMigration(m.id(), m.source());
  }

  private static MigrationStatus recorded(MigrationRecord m) {
    MigrationPhase phase = switch (m.state()) {
      case SUCCEEDED -> MigrationPhase.DONE;
      case ROLLED_BACK -> MigrationPhase.ROLLED_BACK;
      case FAILED -> MigrationPhase.ROLLING_BACK;
      case RUNNING -> MigrationPhase.PREPARING;
    };
    return new MigrationStatus(m.id(), m.vm(), m.mode(), m.source(), m.target(), m.state(), phase, 0, m.state() == MigrationState.SUCCEEDED ? 100 : 0,
        m.bytes(), m.bytes(), 0, 0, m.downtimeMs(), m.totalMs(), Instant.ofEpochMilli(m.startedAtMillis()),
        m.finishedAtMillis() == 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(m.finishedAtMillis())), m.error());
  }

  // --- placement -----------------------------------------------------------------------------------

  private String place(VmSpec spec) {
    ClusterState s = state.get();
    Map<String, Long> used = new TreeMap<>();
    s.vms().values().forEach(v -> used.merge(v.node(), v.spec().memoryBytes(), Long::sum));
    List<NodeRecord> withRuntime = s.nodes().values().stream().filter(n -> !n.vmRuntime().isEmpty()).toList();
    if (spec.node().isPresent()) {
      NodeRecord n = resolveNode(spec.node().get());
      if (n.vmRuntime().isEmpty()) {
        throw new InvalidSpecException("node", "node " + n.name() + " (" + n.id() + ") has no VM runtime; start it with --vm-runtime libvirt");
      }
      checkFits(spec, n, used.getOrDefault(n.id(), 0L));
      return n.id();
    }
    if (withRuntime.isEmpty()) {
      throw new InvalidSpecException("node", "no node of the cluster has a VM runtime; start a daemon with --vm-runtime libvirt --libvirt-uri URI");
    }
    NodeRecord largest = withRuntime.stream().max(Comparator.comparingLong(NodeRecord::memoryBytes)).orElseThrow();
    if (spec.memoryBytes() > largest.memoryBytes()) {
      throw new InvalidSpecException("memory", Sizes.human(spec.memoryBytes()) + " is more memory than any node with a VM runtime has (the largest, "
          + largest.name() + ", has " + Sizes.human(largest.memoryBytes()) + "); ask for less with --memory");
    }
    Map<String, Member> members = members();
    NodeRecord best = null;
    long bestFree = -1;
    for (NodeRecord n : withRuntime) {
      Member m = members.get(n.id());
      boolean live = n.id().equals(nodeId) || (m != null && m.state() != NodeState.DEAD && m.state() != NodeState.LEFT);
      long free = n.memoryBytes() - used.getOrDefault(n.id(), 0L);
      if (live && !n.draining() && n.cpus() >= spec.vcpus() && free >= spec.memoryBytes() && free > bestFree) {
        best = n;
        bestFree = free;
      }
    }
    if (best == null) {
      throw new UnavailableException("no live node with a VM runtime has " + Sizes.human(spec.memoryBytes()) + " of memory and " + spec.vcpus()
          + " vCPUs free now; remove a VM or add a node");
    }
    return best.id();
  }

  private static void checkFits(VmSpec spec, NodeRecord n, long used) {
    if (spec.memoryBytes() > n.memoryBytes() - used) {
      throw new InvalidSpecException("memory", "node " + n.name() + " has " + Sizes.human(Math.max(0, n.memoryBytes() - used)) + " of memory free for VMs, "
          + spec.name() + " needs " + Sizes.human(spec.memoryBytes()));
    }
    if (spec.vcpus() > n.cpus()) {
      throw new InvalidSpecException("vcpus", "node " + n.name() + " has " + n.cpus() + " CPUs, " + spec.name() + " asks for " + spec.vcpus());
    }
  }

  private NodeRecord resolveNode(String idOrName) {
    ClusterState s = state.get();
    NodeRecord byId = s.nodes().get(idOrName);
    if (byId != null) {
      return byId;
    }
    return s.nodes().values().stream().filter(n -> n.name().equals(idOrName)).findFirst()
        .orElseThrow(() -> new NotFoundException("no node has the id or name '" + idOrName + "'; `hive node ls` lists them"));
  }

  private Map<String, Member> members() {
    Map<String, Member> result = new TreeMap<>();
    ClusterNode node = clusterNode;
    if (node != null) {
      node.members().forEach(m -> result.put(m.id(), m));
    }
    return result;
  }

  // --- a VM handle --------------------------------------------------------------------------------

  private final class VmHandle implements Vm {
    private final String name;

    VmHandle(String name) {
      this.name = name;
    }

    private VmRecord record() {
      VmRecord r = state.get().vms().get(name);
      if (r == null) {
        throw new NotFoundException("there is no VM named '" + name + "'; `hive vm ls` lists them");
      }
      return r;
    }

    private VmRecord notMigrating() {
      VmRecord r = record();
      if (!r.migration().isEmpty()) {
        throw new ConflictException("VM '" + name + "' is being migrated (" + r.migration() + "); wait for it or cancel it with `hive vm cancel "
            + r.migration() + "`");
      }
      return r;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public VmSpec spec() {
      return record().spec();
    }

    @Override
    public VmStatus status() {
      VmRecord r = record();
      JsonNode answer = ask(r.node(), "stats", JSON.createObjectNode().set("names", JSON.createArrayNode().add(name)), Duration.ofSeconds(5));
      return answer.isEmpty() ? unknown(r) : VmService.status(r, answer.get(0));
    }

    private void act(String action, long graceMs) {
      VmRecord r = notMigrating();
      ask(r.node(), "act", JSON.createObjectNode().put("vm", name).put("action", action).put("graceMs", graceMs));
    }

    @Override
    public void start() {
      act("start", 0);
    }

    @Override
    public void stop(Duration grace) {
      if (grace == null || grace.isNegative()) {
        throw new InvalidSpecException("grace", "expected a duration >= 0, got " + grace);
      }
      act("stop", grace.toMillis());
    }

    @Override
    public void suspend() {
      act("suspend", 0);
    }

    @Override
    public void resume() {
      act("resume", 0);
    }

    @Override
    public void delete() {
      VmRecord r = notMigrating();
      ask(r.node(), "remove", JSON.createObjectNode().put("vm", name));
      submit(new Command.DeleteVm(name));
      events.accept(new HiveEvent(HiveEvent.Type.VM_CHANGED, clock.instant(), null, null, null, "VM " + name + " removed from " + r.node()));
    }

    @Override
    public Migration migrate(String target, MigrationMode mode, MigrationOptions options) {
      if (target == null || mode == null || options == null) {
        throw new InvalidSpecException("migrate", "migrate needs a target node, a mode (COLD, WARM, LIVE) and options (MigrationOptions.defaults())");
      }
      VmRecord r = notMigrating();
      NodeRecord t = resolveNode(target);
      if (t.id().equals(r.node())) {
        throw new InvalidSpecException("target", "VM " + name + " is already on " + t.name() + " (" + t.id() + "); choose another node");
      }
      if (t.vmRuntime().isEmpty()) {
        throw new InvalidSpecException("target", "node " + t.name() + " (" + t.id() + ") has no VM runtime; start it with --vm-runtime libvirt");
      }
      ObjectNode body = JSON.createObjectNode().put("vm", name).put("target", t.id()).put("mode", mode.name())
          .put("maxDowntimeMs", options.maxDowntime().toMillis()).put("bandwidthMiBps", options.bandwidthMiBps())
          .put("autoConverge", options.autoConverge()).put("postCopy", options.postCopy()).put("timeoutMs", options.timeout().toMillis());
      String id = ask(r.node(), "migrate", body).get("id").asText();
      return migration(id);
    }

    @Override
    public String toString() {
      return "Vm{" + name + "}";
    }
  }

  // --- a migration run elsewhere, polled ------------------------------------------------------

  private final class RemoteMigration implements Migration {
    private final String id;
    private final String source;
    private final List<Consumer<MigrationStatus>> listeners = new CopyOnWriteArrayList<>();
    private final CompletableFuture<MigrationStatus> result = new CompletableFuture<>();
    private ScheduledFuture<?> poll;

    RemoteMigration(String id, String source) {
      this.id = id;
      this.source = source;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public MigrationStatus status() {
      MigrationRecord m = state.get().migrations().get(id);
      if (m != null && m.state() != MigrationState.RUNNING) {
        return recorded(m);
      }
      try {
        return decodeStatus(ask(source, "migration", JSON.createObjectNode().put("id", id), Duration.ofSeconds(5)));
      } catch (NotFoundException | UnavailableException e) {
        MigrationRecord again = state.get().migrations().get(id);
        if (again == null) {
          throw e;
        }
        return recorded(again);
      }
    }

    @Override
    public synchronized Subscription onProgress(Consumer<MigrationStatus> listener) {
      listeners.add(listener);
      startPolling();
      return () -> listeners.remove(listener);
    }

    private synchronized void startPolling() {
      if (poll == null) {
        poll = scheduler.scheduleWithFixedDelay(() -> {
          try {
            MigrationStatus s = status();
            listeners.forEach(l -> l.accept(s));
            if (s.finished()) {
              result.complete(s);
              poll.cancel(false);
            }
          } catch (RuntimeException e) {
            log.debug("polling migration {}: {}", id, e.getMessage());
          }
        }, 0, 250, TimeUnit.MILLISECONDS);
      }
    }

    @Override
    public void cancel() {
      ask(source, "cancel", JSON.createObjectNode().put("id", id));
    }

    @Override
    public CompletableFuture<MigrationStatus> result() {
      startPolling();
      return result;
    }
  }

  // --- serving the other nodes (and this one) --------------------------------------------------

  private byte[] serve(String op, byte[] payload) {
    ObjectNode reply;
    try {
      reply = JSON.createObjectNode();
      reply.set("ok", handle(op, JSON.readTree(payload)));
    } catch (IOException e) {
      reply = error(new InvalidSpecException("body", "not JSON: " + e.getMessage()));
    } catch (HiveException e) {
      reply = error(e);
    } catch (RuntimeException e) {
      reply = error(new HiveException(e.toString(), e));
    }
    try {
      return JSON.writeValueAsBytes(reply);
    } catch (IOException e) {
      throw new HiveException("cannot encode a reply", e);
    }
  }

  private static ObjectNode error(HiveException e) {
    String kind = e instanceof NotFoundException ? "not-found" : e instanceof ConflictException ? "conflict"
        : e instanceof InvalidSpecException ? "invalid" : e instanceof UnavailableException ? "unavailable" : "failed";
    return JSON.createObjectNode().put("error", e.getMessage()).put("kind", kind);
  }

  private VmRuntime requireRuntime() {
    if (runtime == null) {
      throw new InvalidSpecException("target", "node " + nodeId + " has no VM runtime; start it with --vm-runtime libvirt");
    }
    return runtime;
  }

  private JsonNode handle(String op, JsonNode body) {
    switch (op) {
      case "ping":
        return JSON.createObjectNode();
      case "define":
        defineAndStart(requireRuntime(), VmSpecCodec.fromJson(body.get("spec")));
        return JSON.createObjectNode();
      case "act": {
        String vm = body.get("vm").asText();
        VmRuntime rt = requireRuntime();
        switch (body.get("action").asText()) {
          case "start" -> rt.start(vm);
          case "stop" -> rt.shutdown(vm, Duration.ofMillis(body.get("graceMs").asLong()));
          case "suspend" -> rt.suspend(vm);
          case "resume" -> rt.resume(vm);
          default -> throw new InvalidSpecException("action", "unknown action " + body.get("action"));
        }
        return JSON.createObjectNode();
      }
      case "remove":
        requireRuntime().undefine(body.get("vm").asText());
        return JSON.createObjectNode();
      case "stats": {
        ArrayNode out = JSON.createArrayNode();
        VmRuntime rt = requireRuntime();
        for (JsonNode n : body.get("names")) {
          String vm = n.asText();
          if (rt.state(vm).isEmpty()) {
            continue;
          }
          VmStats s = rt.stats(vm);
          out.addObject().put("name", vm).put("state", s.state().name()).put("vcpus", s.vcpus()).put("memoryBytes", s.memoryBytes())
              .put("cpuTimeNanos", s.cpuTimeNanos()).put("blockReadBytes", s.blockReadBytes()).put("blockWriteBytes", s.blockWriteBytes())
              .put("netRxBytes", s.netRxBytes()).put("netTxBytes", s.netTxBytes());
        }
        return out;
      }
      case "prepare": {
        VmSpec spec = VmSpecCodec.fromJson(body.get("spec"));
        VmRuntime rt = requireRuntime();
        if (rt.state(spec.name()).isPresent()) {
          throw new ConflictException("node " + nodeId + "'s hypervisor already has a domain named " + spec.name());
        }
        NodeRecord me = state.get().nodes().get(nodeId);
        long used = state.get().vms().values().stream().filter(v -> v.node().equals(nodeId)).mapToLong(v -> v.spec().memoryBytes()).sum();
        if (me != null) {
          checkFits(spec, me, used);
        }
        return JSON.createObjectNode().put("migrationUri", rt.migrationUri()).put("dataAddress", migrateAddress())
            .put("receiveRoot", transfers.receiver().root().path().toAbsolutePath().toString());
      }
      case "accept": {
        VmSpec spec = VmSpecCodec.fromJson(body.get("spec"));
        VmRuntime rt = requireRuntime();
        if (body.hasNonNull("stateFile")) {
          Path file = Path.of(body.get("stateFile").asText());
          try {
            rt.restore(file, spec);
          } finally {
            try {
              java.nio.file.Files.deleteIfExists(file);
            } catch (IOException e) {
              log.debug("cannot delete {}: {}", file, e.getMessage());
            }
          }
        } else {
          defineAndStart(rt, spec);
        }
        return JSON.createObjectNode();
      }
      case "check": {
        Optional<VmState> s = requireRuntime().state(body.get("vm").asText());
        return JSON.createObjectNode().put("state", s.map(Enum::name).orElse(""));
      }
      case "migrate":
        return encodeStatus(startMigration(body).status());
      case "migration": {
        VmMigration m = running.get(body.get("id").asText());
        if (m == null) {
          throw new NotFoundException("node " + nodeId + " runs no migration " + body.get("id").asText());
        }
        return encodeStatus(m.status());
      }
      case "cancel": {
        VmMigration m = running.get(body.get("id").asText());
        if (m != null) {
          m.cancel();
        }
        return JSON.createObjectNode();
      }
      default:
        throw new InvalidSpecException("op", "node " + nodeId + " does not know the VM operation '" + op + "'; is it an older Hive?");
    }
  }

  /** Nothing is left defined when the start fails. */
  private static void defineAndStart(VmRuntime rt, VmSpec spec) {
    rt.define(spec);
    try {
      rt.start(spec.name());
    } catch (RuntimeException e) {
      rt.undefine(spec.name());
      throw e;
    }
  }

  private String migrateAddress() {
    if (migrateAddressSetting != null) {
      return migrateAddressSetting;
    }
    ClusterNode node = clusterNode;
    return node == null ? "" : "tcp://" + node.advertiseHost;
  }

  // --- migrations run here ------------------------------------------------------------------------

  private VmMigration startMigration(JsonNode body) {
    VmRuntime rt = requireRuntime();
    String vm = body.get("vm").asText();
    VmRecord record = state.get().vms().get(vm);
    // The caller may have read a newer state than this node has applied (a migration that just
    // ended): wait a little for it before refusing.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (record != null && !record.node().equals(nodeId) && System.nanoTime() < deadline) {
      sleepBriefly();
      record = state.get().vms().get(vm);
    }
    if (record == null) {
      throw new NotFoundException("there is no VM named '" + vm + "'");
    }
    if (!record.node().equals(nodeId)) {
      throw new ConflictException("VM " + vm + " is on " + record.node() + ", not on " + nodeId);
    }
    String target = body.get("target").asText();
    MigrationMode mode = MigrationMode.valueOf(body.get("mode").asText());
    MigrationOptions options = MigrationOptions.builder().maxDowntime(Duration.ofMillis(body.get("maxDowntimeMs").asLong()))
        .bandwidthMiBps(body.get("bandwidthMiBps").asLong()).autoConverge(body.get("autoConverge").asBoolean())
        .postCopy(body.get("postCopy").asBoolean()).timeout(Duration.ofMillis(body.get("timeoutMs").asLong())).build();
    byte[] random = new byte[4];
    ThreadLocalRandom.current().nextBytes(random);
    String id = "mig-" + HexFormat.of().formatHex(random);
    // Recorded first: the state machine refuses a second migration of the same VM, on any node.
    submit(new Command.StartMigration(MigrationRecord.started(id, vm, mode, nodeId, target, clock.millis())));
    RemoteTarget remote = new RemoteTarget(target);
    VmMigration.Context ctx = new VmMigration.Context(rt, remote, remote::send, this::recordFinish, peerRuntime,
        migrateAddress(), workDir, coldGrace, clock, scheduler);
    VmMigration m = new VmMigration(id, record.spec(), mode, options, nodeId, target, ctx);
    running.put(id, m);
    events.accept(new HiveEvent(HiveEvent.Type.VM_MIGRATION, clock.instant(), null, null, null,
        "migration " + id + " of VM " + vm + " (" + mode + ") from " + nodeId + " to " + target + " started"));
    m.result().thenAccept(s -> {
      events.accept(new HiveEvent(HiveEvent.Type.VM_MIGRATION, clock.instant(), null, null, null,
          "migration " + id + " of VM " + vm + " " + s.state() + " in " + s.totalMs() + " ms" + (s.error().isEmpty() ? "" : ": " + s.error())));
      scheduler.schedule(() -> running.remove(id), 1, TimeUnit.MINUTES);
    });
    migrations.execute(m::run);
    return m;
  }

  private static void sleepBriefly() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnavailableException("interrupted", e);
    }
  }

  /** Records the end; retried through an election, so a leader failover neither loses nor repeats it. */
  private void recordFinish(String id, MigrationState s, long atMillis, long totalMs, long downtimeMs, long bytes, String error) {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (true) {
      try {
        submit(new Command.FinishMigration(id, s, atMillis, totalMs, downtimeMs, bytes, error));
        return;
      } catch (UnavailableException e) {
        if (System.nanoTime() > deadline) {
          log.error("could not record the end of migration {} ({}): {}", id, s, e.getMessage());
          return;
        }
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** Migrations this node ran when it stopped: settled by where the VM is now. */
  private void recoverInterruptedMigrations() {
    if (runtime == null) {
      return;
    }
    for (MigrationRecord m : state.get().migrations().values()) {
      if (m.state() != MigrationState.RUNNING || !m.source().equals(nodeId) || running.containsKey(m.id())) {
        continue;
      }
      try {
        Optional<VmState> here = runtime.state(m.vm());
        RemoteTarget target = new RemoteTarget(m.target());
        if (here.isPresent()) {
          try {
            target.remove(m.vm());
          } catch (RuntimeException e) {
            log.warn("could not remove {} from {} after an interrupted migration: {}", m.vm(), m.target(), e.getMessage());
          }
          if (here.get() == VmState.PAUSED) {
            runtime.resume(m.vm());
          }
          recordFinish(m.id(), MigrationState.ROLLED_BACK, clock.millis(), clock.millis() - m.startedAtMillis(), 0, 0,
              "the source node stopped during the migration; the VM stays on the source");
        } else if (target.check(m.vm()).orElse(null) == VmState.RUNNING) {
          recordFinish(m.id(), MigrationState.SUCCEEDED, clock.millis(), clock.millis() - m.startedAtMillis(), 0, 0, "");
        } else {
          recordFinish(m.id(), MigrationState.FAILED, clock.millis(), clock.millis() - m.startedAtMillis(), 0, 0,
              "the source node stopped during the migration and the VM runs on neither node");
        }
      } catch (RuntimeException e) {
        log.warn("cannot settle interrupted migration {}: {}", m.id(), e.getMessage());
      }
    }
  }

  /** The target node of a migration, reached through {@link #ask}. */
  private final class RemoteTarget implements VmMigration.Target {
    private final String node;

    RemoteTarget(String node) {
      this.node = node;
    }

    @Override
    public VmMigration.Prepared prepare(VmSpec spec) {
      JsonNode r = ask(node, "prepare", JSON.createObjectNode().set("spec", VmSpecCodec.toJson(JSON, spec)), Duration.ofSeconds(10));
      return new VmMigration.Prepared(r.get("migrationUri").asText(), r.get("dataAddress").asText(), r.get("receiveRoot").asText());
    }

    @Override
    public void accept(VmSpec spec, String stateFile) {
      ObjectNode body = JSON.createObjectNode();
      body.set("spec", VmSpecCodec.toJson(JSON, spec));
      if (stateFile != null) {
        body.put("stateFile", stateFile);
      }
      ask(node, "accept", body);
    }

    @Override
    public Optional<VmState> check(String vm) {
      String s = ask(node, "check", JSON.createObjectNode().put("vm", vm), Duration.ofSeconds(3)).get("state").asText();
      return s.isEmpty() ? Optional.empty() : Optional.of(VmState.valueOf(s));
    }

    @Override
    public void remove(String vm) {
      ask(node, "remove", JSON.createObjectNode().put("vm", vm), Duration.ofSeconds(10));
    }

    @Override
    public boolean alive() {
      try {
        ask(node, "ping", JSON.createObjectNode(), Duration.ofSeconds(1));
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    }

    long send(Path file, String destinationName, LongConsumer bytesDone, java.util.function.BooleanSupplier cancelled) {
      Transfer t = transfers.send(file, node, TransferOptions.builder().destinationName(destinationName).overwrite(OverwritePolicy.REPLACE).build());
      while (true) {
        TransferStatus s = t.status();
        bytesDone.accept(s.bytesVerified());
        if (s.state() == TransferState.SUCCEEDED) {
          return s.bytesTotal();
        }
        if (s.state() == TransferState.FAILED || s.state() == TransferState.PAUSED) {
          throw new HiveException("moving " + file + " to " + node + " failed: " + s.error());
        }
        if (cancelled.getAsBoolean()) {
          t.cancel();
          throw new HiveException("cancelled while moving " + file);
        }
        try {
          t.result().get(250, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          // poll again
        } catch (java.util.concurrent.ExecutionException e) {
          throw new HiveException("moving " + file + " to " + node + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new HiveException("interrupted while moving " + file, e);
        }
      }
    }
  }

  // --- calls between nodes ------------------------------------------------------------------------

  private JsonNode ask(String node, String op, ObjectNode body) {
    return ask(node, op, body, CALL_TIMEOUT);
  }

  private JsonNode ask(String node, String op, ObjectNode body, Duration timeout) {
    byte[] payload;
    try {
      payload = JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new HiveException("cannot encode a request", e);
    }
    byte[] reply;
    if (node.equals(nodeId)) {
      reply = serve(op, payload);
    } else {
      ClusterNode cn = clusterNode;
      var peer = cn == null ? null : cn.peerOf(node);
      if (peer == null) {
        throw new UnavailableException("node " + node + " is not a member this node can reach now");
      }
      try {
        reply = cn.transport().request(peer, TOPIC + op, payload, timeout).get(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UnavailableException("interrupted while asking node " + node, e);
      } catch (Exception e) {
        Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
        throw new UnavailableException("node " + node + " did not answer (" + op + "): " + cause.getMessage(), cause);
      }
    }
    JsonNode r;
    try {
      r = JSON.readTree(reply);
    } catch (IOException e) {
      throw new HiveException("node " + node + " answered with something that is not JSON", e);
    }
    if (r.has("error")) {
      String message = r.get("error").asText();
      throw switch (r.path("kind").asText()) {
        case "not-found" -> new NotFoundException(message);
        case "conflict" -> new ConflictException(message);
        case "invalid" -> new InvalidSpecException("vm", message);
        case "unavailable" -> new UnavailableException(message);
        default -> new HiveException(message);
      };
    }
    return r.get("ok");
  }

  private ClusterState submit(Command command) {
    return commands.submit(command);
  }

  /** A migration status as the REST API and the nodes exchange it. */
  public static ObjectNode encodeStatus(MigrationStatus s) {
    ObjectNode o = JSON.createObjectNode().put("id", s.id()).put("vm", s.vm()).put("mode", s.mode().name()).put("source", s.source())
        .put("target", s.target()).put("state", s.state().name()).put("phase", s.phase().name()).put("round", s.round())
        .put("percent", s.percent()).put("bytesTotal", s.bytesTotal()).put("bytes", s.bytesProcessed())
        .put("dirtyPagesPerSecond", s.dirtyPagesPerSecond()).put("expectedDowntimeMs", s.expectedDowntimeMs())
        .put("downtimeMs", s.downtimeMs()).put("totalMs", s.totalMs()).put("startedAt", s.startedAt().toString())
        .put("error", s.error());
    s.finishedAt().ifPresent(f -> o.put("finishedAt", f.toString()));
    return o;
  }

  static MigrationStatus decodeStatus(JsonNode o) {
    return new MigrationStatus(o.get("id").asText(), o.get("vm").asText(), MigrationMode.valueOf(o.get("mode").asText()), o.get("source").asText(),
        o.get("target").asText(), MigrationState.valueOf(o.get("state").asText()), MigrationPhase.valueOf(o.get("phase").asText()),
        o.get("round").asInt(), o.get("percent").asInt(), o.get("bytesTotal").asLong(), o.get("bytes").asLong(),
        o.get("dirtyPagesPerSecond").asLong(), o.get("expectedDowntimeMs").asLong(), o.get("downtimeMs").asLong(), o.get("totalMs").asLong(),
        Instant.parse(o.get("startedAt").asText()),
        o.hasNonNull("finishedAt") ? Optional.of(Instant.parse(o.get("finishedAt").asText())) : Optional.empty(), o.get("error").asText());
  }

  @Override
  public void close() {
    running.values().forEach(m -> m.cancel());
    migrations.shutdown();
    try {
      migrations.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    scheduler.shutdownNow();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
