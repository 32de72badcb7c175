package dev.hive.core.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveEvent;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationOptions;
import dev.hive.api.MigrationState;
import dev.hive.api.NotFoundException;
import dev.hive.api.OverwritePolicy;
import dev.hive.api.Transfer;
import dev.hive.api.TransferOptions;
import dev.hive.api.TransferState;
import dev.hive.api.TransferStatus;
import dev.hive.api.UnavailableException;
import dev.hive.api.VmSpec;
import dev.hive.api.VmState;
import dev.hive.core.cluster.ClusterNode;
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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs on this node's hypervisor, as the other nodes ask for them (define, act, report, prepare
 * and accept an incoming VM), and the migrations this node runs as their source: started here,
 * recorded in the cluster state, and settled after a restart by where the VM is.
 */
final class VmHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VmHost.class);
  private static final ObjectMapper JSON = VmWire.JSON;

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
  private final VmWire wire;
  private final ScheduledExecutorService scheduler;
  private final Map<String, VmMigration> running = new ConcurrentHashMap<>();
  private final ExecutorService migrations = Executors.newCachedThreadPool(VmService.daemon("hive-vm-migration"));

  VmHost(String nodeId, Supplier<ClusterState> state, CommandLog commands, VmRuntime runtime, Function<String, VmRuntime> peerRuntime,
      TransferService transfers, Consumer<HiveEvent> events, Clock clock, Path workDir, Duration coldGrace, String migrateAddressSetting,
      ScheduledExecutorService scheduler) {
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
    this.scheduler = scheduler;
    this.wire = new VmWire(nodeId, this::handle);
  }

  /** How this node's VM service calls the others, and is called: served by this host. */
  VmWire wire() {
    return wire;
  }

  /** Settles, in the background, the migrations this node was running when it stopped. */
  void settleInterruptedMigrations() {
    migrations.execute(this::recoverInterruptedMigrations);
  }

  /** A migration this node runs now, or null. */
  VmMigration running(String id) {
    return running.get(id);
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
        return VmService.encodeStatus(startMigration(body).status());
      case "migration": {
        VmMigration m = running.get(body.get("id").asText());
        if (m == null) {
          throw new NotFoundException("node " + nodeId + " runs no migration " + body.get("id").asText());
        }
        return VmService.encodeStatus(m.status());
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
    ClusterNode node = wire.clusterNode();
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

  /** The target node of a migration, reached through the wire. */
  private final class RemoteTarget implements VmMigration.Target {
    private final String node;

    RemoteTarget(String node) {
      this.node = node;
    }

    @Override
    public VmMigration.Prepared prepare(VmSpec spec) {
      JsonNode r = wire.ask(node, "prepare", JSON.createObjectNode().set("spec", VmSpecCodec.toJson(JSON, spec)), Duration.ofSeconds(10));
      return new VmMigration.Prepared(r.get("migrationUri").asText(), r.get("dataAddress").asText(), r.get("receiveRoot").asText());
    }

    @Override
    public void accept(VmSpec spec, String stateFile) {
      ObjectNode body = JSON.createObjectNode();
      body.set("spec", VmSpecCodec.toJson(JSON, spec));
      if (stateFile != null) {
        body.put("stateFile", stateFile);
      }
      wire.ask(node, "accept", body);
    }

    @Override
    public Optional<VmState> check(String vm) {
      String s = wire.ask(node, "check", JSON.createObjectNode().put("vm", vm), Duration.ofSeconds(3)).get("state").asText();
      return s.isEmpty() ? Optional.empty() : Optional.of(VmState.valueOf(s));
    }

    @Override
    public void remove(String vm) {
      wire.ask(node, "remove", JSON.createObjectNode().put("vm", vm), Duration.ofSeconds(10));
    }

    @Override
    public boolean alive() {
      try {
        wire.ask(node, "ping", JSON.createObjectNode(), Duration.ofSeconds(1));
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

  static void checkFits(VmSpec spec, NodeRecord n, long used) {
    if (spec.memoryBytes() > n.memoryBytes() - used) {
      throw new InvalidSpecException("memory", "node " + n.name() + " has " + Sizes.human(Math.max(0, n.memoryBytes() - used)) + " of memory free for VMs, "
          + spec.name() + " needs " + Sizes.human(spec.memoryBytes()));
    }
    if (spec.vcpus() > n.cpus()) {
      throw new InvalidSpecException("vcpus", "node " + n.name() + " has " + n.cpus() + " CPUs, " + spec.name() + " asks for " + spec.vcpus());
    }
  }

  private ClusterState submit(Command command) {
    return commands.submit(command);
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
  }
}
