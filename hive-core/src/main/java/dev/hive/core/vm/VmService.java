package dev.hive.core.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveEvent;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.Migration;
import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationOptions;
import dev.hive.api.MigrationPhase;
import dev.hive.api.MigrationState;
import dev.hive.api.MigrationStatus;
import dev.hive.api.NodeState;
import dev.hive.api.NotFoundException;
import dev.hive.api.Subscription;
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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's VMs as seen from one node: placement, the operations on a VM (forwarded through
 * {@link VmWire} to the {@link VmHost} of the node whose hypervisor holds it), and migrations (run
 * by the source node's host).
 *
 * <p>Settings: {@code hive.vm.cold-shutdown-grace} (30s: how long COLD waits for the guest to
 * power off before it stops it), {@code hive.vm.migrate-address} (where peers send migration data
 * to this node; default {@code tcp://<advertised host>}).
 */
public final class VmService implements Vms, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VmService.class);
  private static final ObjectMapper JSON = VmWire.JSON;

  private final String nodeId;
  private final Supplier<ClusterState> state;
  private final CommandLog commands;
  private final Consumer<HiveEvent> events;
  private final Clock clock;
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2, daemon("hive-vm-watch"));
  private final VmWire wire;
  private final VmHost host;

  public VmService(String nodeId, Supplier<ClusterState> state, CommandLog commands, VmRuntime runtime, Function<String, VmRuntime> peerRuntime,
      TransferService transfers, Consumer<HiveEvent> events, Clock clock, Path workDir, Duration coldGrace, String migrateAddressSetting) {
    this.nodeId = nodeId;
    this.state = state;
    this.commands = commands;
    this.events = events;
    this.clock = clock;
    this.host = new VmHost(nodeId, state, commands, runtime, peerRuntime, transfers, events, clock, workDir, coldGrace, migrateAddressSetting,
        scheduler);
    this.wire = host.wire();
    if (runtime != null) {
      runtime.onStateChange((vm, s) -> events.accept(new HiveEvent(HiveEvent.Type.VM_CHANGED, clock.instant(), null, null, null,
          "VM " + vm + " is " + s + " on " + nodeId)));
    }
  }

  /** Serves the other nodes, and settles migrations this node was running when it stopped. */
  public void attach(ClusterNode node) {
    wire.attach(node);
    host.settleInterruptedMigrations();
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
    wire.ask(node, "define", body);
    try {
      submit(new Command.CreateVm(spec, node, clock.millis()));
    } catch (RuntimeException e) {
      try {
        wire.ask(node, "remove", JSON.createObjectNode().put("vm", spec.name()));
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
        wire.ask(node, "stats", JSON.createObjectNode().set("names", names), Duration.ofSeconds(5)).forEach(a -> answers.put(a.get("name").asText(), a));
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
      VmMigration local = host.running(m.id());
      result.add(local != null ? local.status() : recorded(m));
    }
    result.sort(Comparator.comparing(MigrationStatus::startedAt).reversed());
    return result;
  }

  @Override
  public Migration migration(String id) {
    VmMigration local = host.running(id);
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
      VmHost.checkFits(spec, n, used.getOrDefault(n.id(), 0L));
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
    ClusterNode node = wire.clusterNode();
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
      JsonNode answer = wire.ask(r.node(), "stats", JSON.createObjectNode().set("names", JSON.createArrayNode().add(name)), Duration.ofSeconds(5));
      return answer.isEmpty() ? unknown(r) : VmService.status(r, answer.get(0));
    }

    private void act(String action, long graceMs) {
      VmRecord r = notMigrating();
      wire.ask(r.node(), "act", JSON.createObjectNode().put("vm", name).put("action", action).put("graceMs", graceMs));
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
      wire.ask(r.node(), "remove", JSON.createObjectNode().put("vm", name));
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
      String id = wire.ask(r.node(), "migrate", body).get("id").asText();
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
        return decodeStatus(wire.ask(source, "migration", JSON.createObjectNode().put("id", id), Duration.ofSeconds(5)));
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
      wire.ask(source, "cancel", JSON.createObjectNode().put("id", id));
    }

    @Override
    public CompletableFuture<MigrationStatus> result() {
      startPolling();
      return result;
    }
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
    host.close();
    scheduler.shutdownNow();
  }

  static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
