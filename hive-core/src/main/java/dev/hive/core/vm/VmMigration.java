package dev.hive.core.vm;

import dev.hive.api.HiveException;
import dev.hive.api.Migration;
import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationOptions;
import dev.hive.api.MigrationPhase;
import dev.hive.api.MigrationState;
import dev.hive.api.MigrationStatus;
import dev.hive.api.Subscription;
import dev.hive.api.VmSpec;
import dev.hive.api.VmState;
import dev.hive.spi.LiveMigrationProgress;
import dev.hive.spi.LiveMigrationRequest;
import dev.hive.spi.LiveMigrationResult;
import dev.hive.spi.VmRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One migration of one VM, run on its source node. COLD stops the guest, moves its disks, defines
 * and starts it on the target; WARM saves RAM and device state, moves the state file and disks,
 * and restores it there; LIVE is the hypervisors' own peer-to-peer pre-copy, watched from here.
 * Any failure, a target that stops answering, the timeout or {@link #cancel()} rolls it back: the
 * VM runs on the source again and the target holds nothing of it.
 */
public final class VmMigration implements Migration {
  private static final Logger log = LoggerFactory.getLogger(VmMigration.class);

  /** The target node's side, reached over the cluster's transport. */
  public interface Target {
    /** Checks that it can take {@code spec} and says where its hypervisor and receive root are. */
    Prepared prepare(VmSpec spec);

    /** Defines and starts {@code spec} there, or restores it from {@code stateFile} (a path there) when not null. */
    void accept(VmSpec spec, String stateFile);

    /** Returns the VM's state there, empty when it has none. */
    Optional<VmState> check(String vm);

    /** Removes the VM there; nothing happens when it has none. */
    void remove(String vm);

    /** Returns whether the target node answers now. */
    boolean alive();
  }

  /**
   * What the target said in {@link Target#prepare}.
   *
   * @param migrationUri where the source hypervisor reaches the target's
   * @param dataAddress where migration data goes (e.g. {@code tcp://10.0.0.2}), or ""
   * @param receiveRoot the absolute directory on the target files sent to it land under
   */
  public record Prepared(String migrationUri, String dataAddress, String receiveRoot) {}

  /** Sends a file to the target, under its receive root; blocks; gives up when {@code cancelled}. */
  public interface FileMover {
    long send(Path file, String destinationName, LongConsumer bytesDone, BooleanSupplier cancelled);
  }

  /** Records the migration's start and end in the cluster state. */
  public interface Recorder {
    void finished(String id, MigrationState state, long atMillis, long totalMs, long downtimeMs, long bytes, String error);
  }

  /** What the run needs from its node. */
  public record Context(VmRuntime runtime, Target target, FileMover files, Recorder recorder, Function<String, VmRuntime> peerRuntime,
      String sourceDataAddress, Path workDir, Duration coldShutdownGrace, Clock clock, ScheduledExecutorService scheduler) {}

  private final String id;
  private final VmSpec spec;
  private final MigrationMode mode;
  private final MigrationOptions options;
  private final String source;
  private final String targetNode;
  private final Context ctx;
  private final Instant startedAt;
  private final long startedNanos;
  private final List<Consumer<MigrationStatus>> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<MigrationStatus> result = new CompletableFuture<>();
  private volatile MigrationStatus status;
  private volatile String stopReason;
  private volatile boolean liveJobRunning;

  public VmMigration(String id, VmSpec spec, MigrationMode mode, MigrationOptions options, String source, String targetNode, Context ctx) {
    this.id = id;
    this.spec = spec;
    this.mode = mode;
    this.options = options;
    this.source = source;
    this.targetNode = targetNode;
    this.ctx = ctx;
    this.startedAt = ctx.clock().instant();
    this.startedNanos = System.nanoTime();
    this.status = status(MigrationState.RUNNING, MigrationPhase.PREPARING, 0, 0, 0, 0, 0, 0, 0, "");
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public MigrationStatus status() {
    return status;
  }

  @Override
  public Subscription onProgress(Consumer<MigrationStatus> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  @Override
  public void cancel() {
    stop("cancelled");
  }

  @Override
  public CompletableFuture<MigrationStatus> result() {
    return result;
  }

  private void stop(String reason) {
    if (status.finished() || stopReason != null) {
      return;
    }
    stopReason = reason;
    if (liveJobRunning) {
      ctx.runtime().abortMigration(spec.name());
    }
  }

  private boolean stopping() {
    return stopReason != null;
  }

  private void checkNotStopped() {
    if (stopReason != null) {
      throw new HiveException(stopReason);
    }
  }

  /** Runs the migration to its end on the calling thread. */
  public void run() {
    ScheduledFuture<?> timeout = ctx.scheduler().schedule(
        () -> stop("timed out after " + options.timeout().toSeconds() + " s"), options.timeout().toMillis(), TimeUnit.MILLISECONDS);
    try {
      Prepared prepared = ctx.target().prepare(spec);
      checkNotStopped();
      switch (mode) {
        case LIVE -> live(prepared);
        case WARM -> warm(prepared);
        case COLD -> cold(prepared);
        default -> throw new IllegalStateException(mode.name());
      }
    } catch (RuntimeException e) {
      String reason = stopReason != null ? stopReason + (e.getMessage() != null && !e.getMessage().equals(stopReason) ? " (" + e.getMessage() + ")" : "")
          : e.getMessage();
      log.warn("migration {} of {} to {} failed: {}; rolling back", id, spec.name(), targetNode, reason);
      update(MigrationPhase.ROLLING_BACK, reason);
      rollback(reason);
    } finally {
      timeout.cancel(false);
    }
  }

  // --- LIVE --------------------------------------------------------------------------------------

  private Prepared prepared;

  private void live(Prepared p) {
    this.prepared = p;
    update(MigrationPhase.TRANSFERRING, "");
    ScheduledFuture<?> watch = ctx.scheduler().scheduleWithFixedDelay(() -> {
      if (!ctx.target().alive()) {
        stop("target node " + targetNode + " stopped answering");
      }
    }, 500, 500, TimeUnit.MILLISECONDS);
    LiveMigrationResult r;
    liveJobRunning = true;
    try {
      checkNotStopped();
      r = ctx.runtime().migrateLive(spec.name(), p.migrationUri(), request(p.dataAddress()), Duration.ofMillis(250), this::onLiveProgress);
    } finally {
      liveJobRunning = false;
      watch.cancel(false);
    }
    checkNotStopped();
    bytesProcessed = r.bytes();
    downtimeMs = r.downtimeMs();
    update(MigrationPhase.VERIFYING, "");
    verifyOnTarget();
    finish(MigrationState.SUCCEEDED, MigrationPhase.DONE, "");
  }

  private LiveMigrationRequest request(String dataAddress) {
    return new LiveMigrationRequest(options.maxDowntime(), options.bandwidthMiBps(), options.autoConverge(), options.postCopy(), dataAddress);
  }

  private volatile int round;
  private volatile long bytesTotal;
  private volatile long bytesProcessed;
  private volatile long dirtyRate;
  private volatile long expectedDowntime;
  private volatile long downtimeMs;
  private volatile int percent;

  private void onLiveProgress(LiveMigrationProgress p) {
    round = p.round();
    bytesTotal = p.memoryTotal();
    bytesProcessed = p.memoryProcessed();
    dirtyRate = p.dirtyPagesPerSecond();
    expectedDowntime = p.expectedDowntimeMs();
    if (p.memoryTotal() > 0) {
      percent = (int) Math.min(99, Math.max(percent, (p.memoryTotal() - p.memoryRemaining()) * 100 / p.memoryTotal()));
    }
    update(p.switchingOver() ? MigrationPhase.SWITCHING_OVER : p.round() > 1 ? MigrationPhase.ITERATING : MigrationPhase.TRANSFERRING, "");
  }

  /** The hypervisor said it is done; the target's node must see it running before the move counts. */
  private void verifyOnTarget() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      checkNotStopped();
      try {
        if (ctx.target().check(spec.name()).orElse(null) == VmState.RUNNING) {
          return;
        }
      } catch (RuntimeException e) {
        last = e;
        if (!ctx.target().alive()) {
          break;
        }
      }
      sleep(200);
    }
    throw new HiveException("the target node " + targetNode + " did not confirm " + spec.name() + " running" + (last == null ? "" : ": " + last.getMessage()));
  }

  // --- WARM and COLD ---------------------------------------------------------------------------

  private void warm(Prepared p) {
    this.prepared = p;
    Path stateFile = ctx.workDir().resolve(id + ".state");
    long pausedAt = System.nanoTime();
    update(MigrationPhase.TRANSFERRING, "");
    createWorkDir();
    ctx.runtime().save(spec.name(), stateFile);
    savedState = stateFile;
    String remoteState = moveFiles(p, List.of(stateFile));
    VmSpec there = specThere(p);
    checkNotStopped();
    update(MigrationPhase.SWITCHING_OVER, "");
    ctx.target().accept(there, remoteState);
    downtimeMs = (System.nanoTime() - pausedAt) / 1_000_000;
    update(MigrationPhase.VERIFYING, "");
    verifyOnTarget();
    ctx.runtime().undefine(spec.name());
    deleteQuietly(stateFile);
    finish(MigrationState.SUCCEEDED, MigrationPhase.DONE, "");
  }

  private void cold(Prepared p) {
    this.prepared = p;
    long stoppedAt = System.nanoTime();
    update(MigrationPhase.TRANSFERRING, "");
    wasRunning = ctx.runtime().state(spec.name()).orElse(VmState.SHUT_OFF) != VmState.SHUT_OFF;
    ctx.runtime().shutdown(spec.name(), ctx.coldShutdownGrace());
    moveFiles(p, List.of());
    VmSpec there = specThere(p);
    checkNotStopped();
    update(MigrationPhase.SWITCHING_OVER, "");
    ctx.target().accept(there, null);
    downtimeMs = (System.nanoTime() - stoppedAt) / 1_000_000;
    update(MigrationPhase.VERIFYING, "");
    verifyOnTarget();
    ctx.runtime().undefine(spec.name());
    finish(MigrationState.SUCCEEDED, MigrationPhase.DONE, "");
  }

  private volatile Path savedState;
  private volatile boolean wasRunning;

  private String remoteName(Path file) {
    return "vms/" + spec.name() + "/" + file.getFileName();
  }

  /** Moves the disks and any extra files; returns the remote path of the first extra file, or null. */
  private String moveFiles(Prepared p, List<Path> extra) {
    List<Path> files = new ArrayList<>(extra);
    files.addAll(spec.disks());
    long total = 0;
    for (Path f : files) {
      total += size(f);
    }
    bytesTotal = total;
    long[] before = {0};
    for (Path f : files) {
      checkNotStopped();
      long base = before[0];
      long sent = ctx.files().send(f, remoteName(f), done -> {
        bytesProcessed = base + done;
        percent = bytesTotal == 0 ? 0 : (int) Math.min(95, bytesProcessed * 95 / bytesTotal);
        update(MigrationPhase.TRANSFERRING, "");
      }, this::stopping);
      before[0] += sent;
    }
    bytesProcessed = before[0];
    return extra.isEmpty() ? null : Path.of(p.receiveRoot()).resolve(remoteName(extra.get(0))).toString();
  }

  private VmSpec specThere(Prepared p) {
    if (spec.disks().isEmpty()) {
      return spec;
    }
    VmSpec.Builder b = VmSpec.builder(spec.name()).vcpus(spec.vcpus()).memoryBytes(spec.memoryBytes());
    spec.disks().forEach(d -> b.disk(Path.of(p.receiveRoot()).resolve(remoteName(d))));
    spec.kernel().ifPresent(b::kernel);
    spec.initrd().ifPresent(b::initrd);
    spec.cmdline().ifPresent(b::cmdline);
    spec.network().ifPresent(b::network);
    spec.serialLog().ifPresent(b::serialLog);
    return b.build();
  }

  // --- rollback ----------------------------------------------------------------------------------

  private void rollback(String reason) {
    String vm = spec.name();
    try {
      Optional<VmState> here = ctx.runtime().state(vm);
      if (here.isEmpty() && mode == MigrationMode.LIVE) {
        // The hypervisor finished moving it before the failure was seen: bring it back.
        migrateBack(vm);
        here = ctx.runtime().state(vm);
      }
      removeFromTarget(vm);
      if (mode == MigrationMode.WARM && savedState != null && here.orElse(VmState.SHUT_OFF) == VmState.SHUT_OFF) {
        ctx.runtime().restore(savedState, spec);
        deleteQuietly(savedState);
      } else if (here.orElse(null) == VmState.PAUSED) {
        ctx.runtime().resume(vm);
      } else if (mode == MigrationMode.COLD && wasRunning && here.orElse(null) == VmState.SHUT_OFF) {
        ctx.runtime().start(vm);
      }
      Optional<VmState> after = ctx.runtime().state(vm);
      if (after.isEmpty()) {
        throw new HiveException(vm + " is no longer defined on the source");
      }
      finish(MigrationState.ROLLED_BACK, MigrationPhase.ROLLED_BACK, reason);
    } catch (RuntimeException e) {
      log.error("rolling back migration {} of {} failed: {}", id, vm, e.getMessage());
      finish(MigrationState.FAILED, MigrationPhase.ROLLING_BACK, reason + "; rolling back failed too: " + e.getMessage());
    }
  }

  /** Removes the target's copy through its node, or, when that node is down, through its hypervisor. */
  private void removeFromTarget(String vm) {
    try {
      ctx.target().remove(vm);
      return;
    } catch (RuntimeException e) {
      log.info("target node {} could not remove {} ({}); asking its hypervisor", targetNode, vm, e.getMessage());
    }
    if (prepared != null && ctx.peerRuntime() != null) {
      try (VmRuntime peer = ctx.peerRuntime().apply(prepared.migrationUri())) {
        peer.undefine(vm);
      }
    }
  }

  private void migrateBack(String vm) {
    if (prepared == null || ctx.peerRuntime() == null) {
      throw new HiveException(vm + " left the source and the target's hypervisor is unknown");
    }
    try (VmRuntime peer = ctx.peerRuntime().apply(prepared.migrationUri())) {
      if (peer.state(vm).isEmpty()) {
        throw new HiveException(vm + " is on neither hypervisor");
      }
      peer.migrateLive(vm, ctx.runtime().migrationUri(), request(ctx.sourceDataAddress()), Duration.ofMillis(250), p -> {});
    }
  }

  // --- status --------------------------------------------------------------------------------------

  private void finish(MigrationState state, MigrationPhase phase, String error) {
    long totalMs = (System.nanoTime() - startedNanos) / 1_000_000;
    if (state == MigrationState.SUCCEEDED) {
      percent = 100;
    }
    MigrationStatus end = new MigrationStatus(id, spec.name(), mode, source, targetNode, state, phase, round, percent, bytesTotal, bytesProcessed,
        dirtyRate, expectedDowntime, Math.max(0, downtimeMs), totalMs, startedAt, Optional.of(ctx.clock().instant()), error);
    ctx.recorder().finished(id, state, ctx.clock().millis(), totalMs, end.downtimeMs(), bytesProcessed, error);
    status = end;
    listeners.forEach(l -> safely(l, end));
    result.complete(end);
  }

  private void update(MigrationPhase phase, String error) {
    MigrationStatus s = status(MigrationState.RUNNING, phase, round, percent, bytesTotal, bytesProcessed, dirtyRate, expectedDowntime,
        Math.max(0, downtimeMs), error);
    status = s;
    listeners.forEach(l -> safely(l, s));
  }

  private MigrationStatus status(MigrationState state, MigrationPhase phase, int r, int pct, long total, long done, long dirty, long expected,
      long down, String error) {
    return new MigrationStatus(id, spec.name(), mode, source, targetNode, state, phase, r, pct, total, done, dirty, expected, down,
        (System.nanoTime() - startedNanos) / 1_000_000, startedAt, Optional.empty(), error);
  }

  private static void safely(Consumer<MigrationStatus> l, MigrationStatus s) {
    try {
      l.accept(s);
    } catch (RuntimeException e) {
      log.warn("a migration progress listener failed: {}", e.toString());
    }
  }

  private void createWorkDir() {
    try {
      Files.createDirectories(ctx.workDir());
    } catch (java.io.IOException e) {
      throw new HiveException("cannot create " + ctx.workDir() + ": " + e.getMessage(), e);
    }
  }

  private static long size(Path f) {
    try {
      return Files.size(f);
    } catch (java.io.IOException e) {
      throw new HiveException("cannot read the size of " + f + ": " + e.getMessage(), e);
    }
  }

  private static void deleteQuietly(Path f) {
    try {
      Files.deleteIfExists(f);
    } catch (java.io.IOException e) {
      log.debug("cannot delete {}: {}", f, e.getMessage());
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HiveException("interrupted", e);
    }
  }
}
