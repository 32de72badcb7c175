package dev.hive.backend.libvirt;

import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.UnavailableException;
import dev.hive.api.VmSpec;
import dev.hive.api.VmState;
import dev.hive.spi.LiveMigrationProgress;
import dev.hive.spi.LiveMigrationRequest;
import dev.hive.spi.LiveMigrationResult;
import dev.hive.spi.VmRuntime;
import dev.hive.spi.VmStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo;
import org.libvirt.Error;
import org.libvirt.LibvirtException;
import org.libvirt.TypedParameter;
import org.libvirt.TypedStringParameter;
import org.libvirt.TypedUlongParameter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * VM runtime {@code libvirt}: one connection to one libvirt daemon. A domain is Hive's when its
 * definition carries Hive's metadata element for this cluster; only those are listed or touched.
 * State changes are found by polling the domains every second (libvirt's own event loop needs a
 * thread per process that the binding cannot share between runtimes).
 */
final class LibvirtVmRuntime implements VmRuntime {
  private static final Logger log = LoggerFactory.getLogger(LibvirtVmRuntime.class);
  private static final int XML_INACTIVE = 2;

  private final String uri;
  private final String migrationUri;
  private final String cluster;
  private final String domainType;
  private final Path serialDir;
  private final NativeLibvirt.HiveConnect conn;
  private final Map<String, Connect> peers = new ConcurrentHashMap<>();
  private final List<BiConsumer<String, VmState>> listeners = new CopyOnWriteArrayList<>();
  private final Map<String, VmState> lastStates = new HashMap<>();
  private final ScheduledExecutorService watcher;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

  LibvirtVmRuntime(String uri, String migrationUri, String cluster, String domainType, Path serialDir) {
    this.uri = uri;
    this.migrationUri = migrationUri;
    this.cluster = cluster;
    this.domainType = domainType;
    this.serialDir = serialDir;
    try {
      this.conn = new NativeLibvirt.HiveConnect(uri);
    } catch (LibvirtException e) {
      throw new UnavailableException("cannot connect to libvirt at " + uri + ": " + e.getError().getMessage()
          + "; start libvirtd (scripts/setup-vms.sh starts two) or pass another --libvirt-uri", e);
    }
    this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hive-libvirt-watch");
      t.setDaemon(true);
      return t;
    });
    watcher.scheduleWithFixedDelay(this::pollStates, 1, 1, TimeUnit.SECONDS);
  }

  @Override
  public String name() {
    return "libvirt";
  }

  @Override
  public String migrationUri() {
    return migrationUri;
  }

  @Override
  public synchronized List<String> list() {
    List<String> names = new ArrayList<>();
    try {
      for (Domain d : conn.listAllDomains(0)) {
        try {
          if (DomainXml.ownedBy(d.getXMLDesc(0), cluster)) {
            names.add(d.getName());
          }
        } catch (LibvirtException e) {
          // The domain went away between listing and reading it.
        }
      }
    } catch (LibvirtException e) {
      throw failure("list the domains", e);
    }
    names.sort(null);
    return names;
  }

  @Override
  public void define(VmSpec spec) {
    for (Path file : files(spec)) {
      if (!Files.isRegularFile(file)) {
        throw new InvalidSpecException("file", file + " does not exist on this node (" + uri + "); VM files must be on the node that runs it");
      }
    }
    try {
      Domain existing = conn.domainLookupByName(spec.name());
      if (existing != null) {
        throw new ConflictException("the hypervisor at " + uri + " already has a domain named '" + spec.name() + "'; choose another name");
      }
    } catch (LibvirtException e) {
      if (code(e) != Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        throw failure("look up " + spec.name(), e);
      }
    }
    Path serial = spec.serialLog().orElse(serialDir.resolve(spec.name() + ".log"));
    try {
      Files.createDirectories(serial.getParent());
      conn.domainDefineXML(DomainXml.of(spec, cluster, domainType, serial));
    } catch (LibvirtException e) {
      throw new InvalidSpecException("spec", "libvirt at " + uri + " refused the definition of '" + spec.name() + "': " + e.getError().getMessage());
    } catch (java.io.IOException e) {
      throw new HiveException("cannot create " + serial.getParent() + ": " + e.getMessage(), e);
    }
  }

  private static List<Path> files(VmSpec spec) {
    List<Path> files = new ArrayList<>(spec.disks());
    spec.kernel().ifPresent(files::add);
    spec.initrd().ifPresent(files::add);
    return files;
  }

  @Override
  public void undefine(String vm) {
    Domain d;
    try {
      d = conn.domainLookupByName(vm);
    } catch (LibvirtException e) {
      if (code(e) == Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        return;
      }
      throw failure("look up " + vm, e);
    }
    try {
      if (d.isActive() == 1) {
        d.destroy();
      }
    } catch (LibvirtException e) {
      if (code(e) != Error.ErrorNumber.VIR_ERR_NO_DOMAIN && code(e) != Error.ErrorNumber.VIR_ERR_OPERATION_INVALID) {
        throw failure("destroy " + vm, e);
      }
    }
    try {
      // A transient domain (restored or migrated in without a definition) is gone once destroyed.
      d.undefine(0);
    } catch (LibvirtException e) {
      if (code(e) != Error.ErrorNumber.VIR_ERR_NO_DOMAIN && code(e) != Error.ErrorNumber.VIR_ERR_OPERATION_INVALID) {
        throw failure("undefine " + vm, e);
      }
    }
  }

  @Override
  public Optional<VmState> state(String vm) {
    try {
      return Optional.of(state(conn.domainLookupByName(vm).getInfo().state));
    } catch (LibvirtException e) {
      if (code(e) == Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        return Optional.empty();
      }
      throw failure("read the state of " + vm, e);
    }
  }

  private static VmState state(DomainInfo.DomainState s) {
    return switch (s) {
      case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED -> VmState.RUNNING;
      case VIR_DOMAIN_PAUSED, VIR_DOMAIN_PMSUSPENDED -> VmState.PAUSED;
      case VIR_DOMAIN_CRASHED -> VmState.CRASHED;
      case VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_SHUTOFF -> VmState.SHUT_OFF;
      default -> VmState.UNKNOWN;
    };
  }

  @Override
  public VmStats stats(String vm) {
    Domain d = domain(vm);
    try {
      DomainInfo info = d.getInfo();
      long rd = 0;
      long wr = 0;
      long rx = 0;
      long tx = 0;
      if (info.state != DomainInfo.DomainState.VIR_DOMAIN_SHUTOFF) {
        String xml = d.getXMLDesc(0);
        for (String disk : DomainXml.targets(xml, "disk")) {
          var b = d.blockStats(disk);
          rd += Math.max(0, b.rd_bytes);
          wr += Math.max(0, b.wr_bytes);
        }
        for (String nic : DomainXml.targets(xml, "interface")) {
          var n = d.interfaceStats(nic);
          rx += Math.max(0, n.rx_bytes);
          tx += Math.max(0, n.tx_bytes);
        }
      }
      return new VmStats(state(info.state), info.nrVirtCpu, info.memory * 1024, info.cpuTime, rd, wr, rx, tx);
    } catch (LibvirtException e) {
      throw failure("read the statistics of " + vm, e);
    }
  }

  @Override
  public void start(String vm) {
    call(vm, "start", Domain::create);
  }

  @Override
  public void shutdown(String vm, Duration grace) {
    Domain d = domain(vm);
    try {
      if (d.isActive() != 1) {
        return;
      }
      d.shutdown();
    } catch (LibvirtException e) {
      log.debug("ACPI shutdown of {} refused ({}); destroying it", vm, e.getMessage());
    }
    long deadline = System.nanoTime() + grace.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        if (d.isActive() != 1) {
          return;
        }
        Thread.sleep(200);
      }
      if (d.isActive() == 1) {
        d.destroy();
      }
    } catch (LibvirtException e) {
      if (code(e) != Error.ErrorNumber.VIR_ERR_OPERATION_INVALID) {
        throw failure("stop " + vm, e);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HiveException("interrupted while stopping " + vm, e);
    }
  }

  @Override
  public void destroy(String vm) {
    call(vm, "destroy", Domain::destroy);
  }

  @Override
  public void suspend(String vm) {
    call(vm, "suspend", Domain::suspend);
  }

  @Override
  public void resume(String vm) {
    call(vm, "resume", Domain::resume);
  }

  @Override
  public void save(String vm, Path file) {
    call(vm, "save", d -> d.save(file.toString()));
  }

  @Override
  public void restore(Path file, VmSpec spec) {
    String xml = DomainXml.withDisks(NativeLibvirt.saveImageXml(conn, file.toString()), spec.disks());
    NativeLibvirt.restore(conn, file.toString(), xml);
    Domain d = domain(spec.name());
    try {
      // A restored domain is transient unless a definition existed: define it so it stays.
      conn.domainDefineXML(d.getXMLDesc(XML_INACTIVE));
    } catch (LibvirtException e) {
      throw failure("define the restored " + spec.name(), e);
    }
  }

  @Override
  public LiveMigrationResult migrateLive(String vm, String targetUri, LiveMigrationRequest request, Duration pollInterval,
      Consumer<LiveMigrationProgress> progress) {
    Domain d = domain(vm);
    List<TypedParameter> params = new ArrayList<>();
    if (!request.dataAddress().isEmpty()) {
      params.add(new TypedStringParameter(Domain.DomainMigrateParameters.VIR_MIGRATE_PARAM_URI, request.dataAddress()));
    }
    if (request.bandwidthMiBps() > 0) {
      params.add(new TypedUlongParameter(Domain.DomainMigrateParameters.VIR_MIGRATE_PARAM_BANDWIDTH, request.bandwidthMiBps()));
    }
    int flags = Domain.MigrateFlags.LIVE | Domain.MigrateFlags.PEER2PEER | Domain.MigrateFlags.PERSIST_DEST
        | Domain.MigrateFlags.UNDEFINE_SOURCE | Domain.MigrateFlags.ABORT_ON_ERROR;
    if (request.autoConverge()) {
      flags |= Domain.MigrateFlags.AUTO_CONVERGE;
    }
    if (request.postCopy()) {
      flags |= Domain.MigrateFlags.POSTCOPY;
    }
    // The move runs on a connection of its own: a call made on the connection that runs a
    // migration waits until the job ends (seen here with libvirt 9), so progress reports, the
    // post-copy switch and every other call of this runtime, for any VM, would wait for the move.
    Connect moving;
    Domain movingDomain;
    try {
      moving = new Connect(uri);
      movingDomain = moving.domainLookupByName(vm);
    } catch (LibvirtException e) {
      throw failure("open a connection for the migration of " + vm, e);
    }
    ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hive-libvirt-migrate-" + vm);
      t.setDaemon(true);
      return t;
    });
    int[] rounds = {0};
    boolean[] postCopyStarted = {false};
    // Set for this move, every move: the limit belongs to the QEMU process, and a guest that comes
    // back runs in a new one, with QEMU's default of 300 ms. Libvirt 9 takes it before the job
    // starts; an older one only during the job, so the poller tries until it is taken.
    boolean[] downtimeSet = {setMaxDowntime(d, request.maxDowntime())};
    poller.scheduleAtFixedRate(() -> {
      try {
        if (!downtimeSet[0] && !(downtimeSet[0] = setMaxDowntime(d, request.maxDowntime()))) {
          return;
        }
        LiveMigrationProgress p = progress(d);
        if (p == null) {
          return;
        }
        rounds[0] = Math.max(rounds[0], p.round());
        if (request.postCopy() && !postCopyStarted[0] && p.round() >= 2) {
          postCopyStarted[0] = true;
          NativeLibvirt.startPostCopy(conn, vm);
        }
        progress.accept(p);
      } catch (RuntimeException e) {
        log.debug("polling the migration of {}: {}", vm, e.getMessage());
      }
    }, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    long started = System.nanoTime();
    try {
      movingDomain.migrateToURI(targetUri, params.toArray(new TypedParameter[0]), flags);
    } catch (LibvirtException e) {
      throw new HiveException("libvirt's migration of " + vm + " to " + targetUri + " failed: " + e.getError().getMessage(), e);
    } finally {
      poller.shutdownNow();
      // A poll under way when the job ended must not report after the completed job below.
      try {
        poller.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      closeQuietly(moving);
    }
    long wallMs = (System.nanoTime() - started) / 1_000_000;
    Map<String, Long> job = completedJob(vm, targetUri);
    long bytes = job.getOrDefault("memory_processed", job.getOrDefault("data_processed", 0L));
    int allRounds = Math.max(rounds[0], job.getOrDefault("memory_iteration", 0L).intValue());
    LiveMigrationResult result = new LiveMigrationResult(job.getOrDefault("time_elapsed", wallMs), job.getOrDefault("downtime", -1L), bytes,
        allRounds);
    // An idle guest can move all its memory between two polls; the last report is the whole job,
    // switch-over included.
    progress.accept(new LiveMigrationProgress(Math.max(1, allRounds), job.getOrDefault("memory_total", bytes), bytes, 0, 0,
        Math.max(0, result.downtimeMs()), true));
    return result;
  }

  /** Whether libvirt took the downtime limit; one older than 9 takes it only during a migration job. */
  private static boolean setMaxDowntime(Domain d, Duration maxDowntime) {
    try {
      d.migrateSetMaxDowntime(maxDowntime.toMillis());
      return true;
    } catch (LibvirtException e) {
      return false;
    }
  }

  private static LiveMigrationProgress progress(Domain d) {
    try {
      org.libvirt.DomainJobStats job = d.getJobStats(0);
      Map<String, Long> s = stats(job.stats);
      if (job.type == 0 || s.isEmpty()) {
        return null;
      }
      boolean paused = d.getInfo().state == DomainInfo.DomainState.VIR_DOMAIN_PAUSED;
      return new LiveMigrationProgress(s.getOrDefault("memory_iteration", 0L).intValue() + 1, s.getOrDefault("memory_total", 0L),
          s.getOrDefault("memory_processed", 0L), s.getOrDefault("memory_remaining", 0L), s.getOrDefault("memory_dirty_rate", 0L),
          s.getOrDefault("downtime", 0L), paused || s.getOrDefault("memory_postcopy_requests", 0L) > 0);
    } catch (LibvirtException e) {
      return null;
    }
  }

  private static Map<String, Long> stats(TypedParameter[] params) {
    Map<String, Long> m = new HashMap<>();
    if (params == null) {
      return m;
    }
    for (TypedParameter p : params) {
      try {
        m.put(p.field, Long.parseLong(p.getValueAsString()));
      } catch (NumberFormatException e) {
        // a string or double statistic Hive does not read
      }
    }
    return m;
  }

  /** The completed job's statistics as the destination's libvirt keeps them, empty when it cannot say. */
  private Map<String, Long> completedJob(String vm, String targetUri) {
    try {
      Connect peer = peers.computeIfAbsent(targetUri, u -> {
        try {
          return new Connect(u);
        } catch (LibvirtException e) {
          throw new UnavailableException("cannot connect to " + u + ": " + e.getError().getMessage(), e);
        }
      });
      Domain there = peer.domainLookupByName(vm);
      return stats(there.getJobStats(Domain.GetJobStatsFlags.COMPLETED).stats);
    } catch (LibvirtException | UnavailableException e) {
      peers.remove(targetUri);
      log.debug("no completed-job statistics for {} at {}: {}", vm, targetUri, e.getMessage());
      return Map.of();
    }
  }

  @Override
  public void abortMigration(String vm) {
    try {
      conn.domainLookupByName(vm).abortJob();
    } catch (LibvirtException e) {
      log.debug("abort of {}'s job: {}", vm, e.getMessage());
    }
  }

  @Override
  public void onStateChange(BiConsumer<String, VmState> listener) {
    listeners.add(listener);
  }

  private void pollStates() {
    if (listeners.isEmpty()) {
      return;
    }
    Map<String, VmState> now = new HashMap<>();
    try {
      for (String name : list()) {
        state(name).ifPresent(s -> now.put(name, s));
      }
    } catch (RuntimeException e) {
      log.debug("polling domain states at {}: {}", uri, e.getMessage());
      return;
    }
    synchronized (lastStates) {
      now.forEach((name, s) -> {
        if (lastStates.get(name) != s) {
          listeners.forEach(l -> l.accept(name, s));
        }
      });
      lastStates.keySet().stream().filter(n -> !now.containsKey(n)).toList().forEach(n -> listeners.forEach(l -> l.accept(n, VmState.UNKNOWN)));
      lastStates.clear();
      lastStates.putAll(now);
    }
  }

  private interface DomainCall {
    void apply(Domain d) throws LibvirtException;
  }

  private void call(String vm, String what, DomainCall call) {
    Domain d = domain(vm);
    try {
      call.apply(d);
    } catch (LibvirtException e) {
      if (code(e) == Error.ErrorNumber.VIR_ERR_OPERATION_INVALID) {
        throw new ConflictException("cannot " + what + " " + vm + ": " + e.getError().getMessage());
      }
      throw failure(what + " " + vm, e);
    }
  }

  private Domain domain(String vm) {
    try {
      return conn.domainLookupByName(vm);
    } catch (LibvirtException e) {
      if (code(e) == Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        throw new NotFoundException("the hypervisor at " + uri + " has no VM '" + vm + "'");
      }
      throw failure("look up " + vm, e);
    }
  }

  private static Error.ErrorNumber code(LibvirtException e) {
    return e.getError() == null ? null : e.getError().getCode();
  }

  private HiveException failure(String what, LibvirtException e) {
    Error.ErrorNumber c = code(e);
    String message = e.getError() == null ? e.getMessage() : e.getError().getMessage();
    if (c == Error.ErrorNumber.VIR_ERR_NO_CONNECT || c == Error.ErrorNumber.VIR_ERR_SYSTEM_ERROR || c == Error.ErrorNumber.VIR_ERR_RPC) {
      return new UnavailableException("libvirt at " + uri + " did not answer to " + what + ": " + message, e);
    }
    return new HiveException("libvirt at " + uri + " could not " + what + ": " + message, e);
  }

  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    watcher.shutdownNow();
    peers.values().forEach(LibvirtVmRuntime::closeQuietly);
    closeQuietly(conn);
  }

  private static void closeQuietly(Connect c) {
    try {
      c.close();
    } catch (LibvirtException e) {
      // closing anyway
    }
  }
}
