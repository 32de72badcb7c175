package dev.hive.backend.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.VmSpec;
import dev.hive.spi.LiveMigrationRequest;
import dev.hive.spi.VmRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest that moves away and back runs in a new QEMU process each time, whose downtime limit is
 * QEMU's default of 300 ms. The runtime once remembered per domain that it had set the limit, so
 * the third move of one guest (the second from the same host) kept the default: ~500 ms of
 * downtime instead of ~50. Read here from the source's QEMU, through virsh, while each job copies
 * memory: the progress reports must come while it does. They once came only before and after the
 * job (CI: "the job ended before a poll saw it"): the poller asked on the connection that ran the
 * migration, and libvirtd answers such a call only when the job ends.
 */
class LibvirtMaxDowntimeTest {
  @TempDir Path dir;
  private final List<VmRuntime> runtimes = new ArrayList<>();
  private final String vm = "kit-downtime-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));

  @AfterEach
  void cleanUp() {
    for (VmRuntime r : runtimes) {
      r.undefine(vm);
      r.close();
    }
  }

  @Test
  void everyMoveOfAGuestRunsWithTheLimitItAsksFor() throws Exception {
    VmRuntime a = LibvirtVmRuntimeCompatibilityTest.create(Files.createDirectories(dir.resolve("a")), LibvirtVmRuntimeCompatibilityTest.A,
        LibvirtVmRuntimeCompatibilityTest.A_PEER);
    runtimes.add(a);
    VmRuntime b = LibvirtVmRuntimeCompatibilityTest.create(Files.createDirectories(dir.resolve("b")), LibvirtVmRuntimeCompatibilityTest.B,
        LibvirtVmRuntimeCompatibilityTest.B_PEER);
    runtimes.add(b);
    // Capped at 8 MiB/s, a move copies memory for about a second, time for 20 ms polls to see it.
    a.define(VmSpec.builder(vm).memoryBytes(256L * 1024 * 1024).build());
    a.start(vm);

    List<String> limits = new ArrayList<>();
    limits.add(moveAndReadLimit(a, LibvirtVmRuntimeCompatibilityTest.A, b));
    limits.add(moveAndReadLimit(b, LibvirtVmRuntimeCompatibilityTest.B, a));
    limits.add(moveAndReadLimit(a, LibvirtVmRuntimeCompatibilityTest.A, b));

    assertThat(limits).as("the source QEMU's limit during each move").containsExactly("100", "100", "100");
  }

  /** Moves the guest from {@code source} to {@code target}; the source's limit while the job ran. */
  private String moveAndReadLimit(VmRuntime source, String sourceUri, VmRuntime target) {
    String[] seen = {null};
    source.migrateLive(vm, target.migrationUri(), new LiveMigrationRequest(Duration.ofMillis(100), 8, false, false, "tcp://127.0.0.1"),
        Duration.ofMillis(20), p -> {
          if (seen[0] == null && p.memoryProcessed() > 0 && !p.switchingOver()) {
            seen[0] = virsh(sourceUri, "migrate-getmaxdowntime", vm);
          }
        });
    return seen[0] == null ? "no progress reported while memory was copied" : seen[0];
  }

  private static String virsh(String uri, String... args) {
    List<String> command = new ArrayList<>(List.of("virsh", "-c", uri));
    command.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      p.waitFor(30, TimeUnit.SECONDS);
      return out;
    } catch (IOException e) {
      return "virsh failed: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }
}
