package dev.hive.spi.kit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.hive.api.ConflictException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link VmRuntime} must do, against a real hypervisor and a real guest. A subclass
 * says how to make the runtime under test (and a second one, on another hypervisor, for live
 * migration) and which guest to boot; every VM it defines is removed after each test.
 */
public abstract class VmRuntimeCompatibilityKit {
  protected VmRuntime runtime;
  protected VmRuntime peer;
  private final List<String> created = new CopyOnWriteArrayList<>();
  @TempDir protected Path dir;

  /** Returns the runtime under test; skips (or fails under CI) when its hypervisor is missing. */
  protected abstract VmRuntime createRuntime(Path dataDir);

  /** Returns a runtime on a second hypervisor that {@link #createRuntime} can migrate to. */
  protected abstract VmRuntime createPeerRuntime(Path dataDir);

  /** Returns a bootable guest spec named {@code name} (small: the kit boots several). */
  protected abstract VmSpec.Builder guest(String name);

  /** Returns the migration data address to pass, or empty. */
  protected String dataAddress() {
    return "";
  }

  @BeforeEach
  void open() throws Exception {
    runtime = createRuntime(Files.createDirectories(dir.resolve("a")));
    peer = createPeerRuntime(Files.createDirectories(dir.resolve("b")));
  }

  @AfterEach
  void cleanUp() {
    for (String vm : created) {
      runtime.undefine(vm);
      peer.undefine(vm);
    }
    runtime.close();
    peer.close();
  }

  protected String name(String prefix) {
    String name = "kit-" + prefix + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
    created.add(name);
    return name;
  }

  @Test
  void aDefinedVmStartsSuspendsResumesStopsAndIsRemoved() {
    String vm = name("life");
    runtime.define(guest(vm).build());
    assertThat(runtime.list()).contains(vm);
    assertThat(runtime.state(vm)).contains(VmState.SHUT_OFF);
    runtime.start(vm);
    assertThat(runtime.state(vm)).contains(VmState.RUNNING);
    runtime.suspend(vm);
    assertThat(runtime.state(vm)).contains(VmState.PAUSED);
    runtime.resume(vm);
    assertThat(runtime.state(vm)).contains(VmState.RUNNING);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(runtime.stats(vm).cpuTimeNanos()).isPositive());
    VmStats stats = runtime.stats(vm);
    assertThat(stats.vcpus()).isEqualTo(1);
    assertThat(stats.memoryBytes()).isEqualTo(guest(vm).build().memoryBytes());
    runtime.shutdown(vm, Duration.ofSeconds(2));
    assertThat(runtime.state(vm)).contains(VmState.SHUT_OFF);
    runtime.undefine(vm);
    assertThat(runtime.state(vm)).isEmpty();
    assertThat(runtime.list()).doesNotContain(vm);
    runtime.undefine(vm); // twice is harmless
  }

  @Test
  void stateChangesAreReported() {
    String vm = name("events");
    List<String> seen = new CopyOnWriteArrayList<>();
    runtime.onStateChange((name, state) -> {
      if (name.equals(vm)) {
        seen.add(state.name());
      }
    });
    runtime.define(guest(vm).build());
    runtime.start(vm);
    await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("RUNNING"));
    runtime.suspend(vm);
    await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("PAUSED"));
    runtime.destroy(vm);
    await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("SHUT_OFF"));
  }

  @Test
  void badInputIsRefusedAndLeavesNothingDefined() {
    String vm = name("bad");
    runtime.define(guest(vm).build());
    assertThatThrownBy(() -> runtime.define(guest(vm).build())).isInstanceOf(ConflictException.class).hasMessageContaining(vm);
    String missing = name("missing");
    Path nowhere = dir.resolve("no-such-disk.img");
    assertThatThrownBy(() -> runtime.define(guest(missing).disk(nowhere).build()))
        .isInstanceOf(InvalidSpecException.class).hasMessageContaining(nowhere.toString());
    assertThat(runtime.state(missing)).isEmpty();
    assertThatThrownBy(() -> runtime.start("kit-never-defined")).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> runtime.resume(vm)).isInstanceOf(ConflictException.class);
  }

  @Test
  void savedStateRestoresOnAnotherHypervisorWithItsDiskMoved() throws Exception {
    String vm = name("warm");
    Path disk = Files.write(dir.resolve(vm + ".img"), new byte[1024 * 1024]);
    runtime.define(guest(vm).disk(disk).build());
    runtime.start(vm);
    Path state = dir.resolve(vm + ".state");
    runtime.save(vm, state);
    assertThat(runtime.state(vm)).contains(VmState.SHUT_OFF);
    Path moved = Files.copy(disk, dir.resolve("b").resolve(vm + ".img"));
    peer.restore(state, guest(vm).disk(moved).build());
    assertThat(peer.state(vm)).contains(VmState.RUNNING);
    runtime.undefine(vm);
    peer.shutdown(vm, Duration.ofMillis(100));
    assertThat(peer.state(vm)).contains(VmState.SHUT_OFF); // defined there, not transient
  }

  @Test
  void liveMigrationMovesARunningVmAndReportsProgressAndDowntime() {
    String vm = name("live");
    runtime.define(guest(vm).build());
    runtime.start(vm);
    List<LiveMigrationProgress> polls = new CopyOnWriteArrayList<>();
    LiveMigrationResult result = runtime.migrateLive(vm, peer.migrationUri(),
        new LiveMigrationRequest(Duration.ofMillis(300), 0, false, false, dataAddress()), Duration.ofMillis(100), polls::add);
    assertThat(peer.state(vm)).contains(VmState.RUNNING);
    assertThat(runtime.state(vm)).isEmpty();
    assertThat(result.downtimeMs()).isBetween(0L, 5_000L);
    assertThat(result.bytes()).isPositive();
    // A small idle guest can move its memory between two polls; the completed job is still reported last.
    assertThat(polls).isNotEmpty();
    LiveMigrationProgress last = polls.get(polls.size() - 1);
    assertThat(last.memoryRemaining()).isZero();
    assertThat(last.switchingOver()).isTrue();
    assertThat(polls).allSatisfy(p -> assertThat(p.memoryProcessed()).isLessThanOrEqualTo(Math.max(p.memoryTotal(), result.bytes())));
  }

  @Test
  void anAbortedLiveMigrationLeavesTheVmRunningAtTheSource() throws Exception {
    String vm = name("abort");
    runtime.define(guest(vm).build());
    runtime.start(vm);
    Thread aborter = new Thread(() -> {
      try {
        Thread.sleep(150);
      } catch (InterruptedException e) {
        return;
      }
      runtime.abortMigration(vm);
    });
    aborter.start();
    // 1 MiB/s cannot finish within the abort's 150 ms.
    assertThatThrownBy(() -> runtime.migrateLive(vm, peer.migrationUri(),
        new LiveMigrationRequest(Duration.ofMillis(300), 1, false, false, dataAddress()), Duration.ofMillis(50), p -> {}))
        .hasMessageContaining(vm);
    aborter.join();
    assertThat(runtime.state(vm)).contains(VmState.RUNNING);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(peer.state(vm)).isEmpty());
  }
}
