package dev.hive.benchmarks;

import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationOptions;
import dev.hive.api.MigrationState;
import dev.hive.api.MigrationStatus;
import dev.hive.api.VmSpec;
import dev.hive.core.node.LocalCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Hive's LIVE migration against {@code virsh migrate --live --p2p} for the same booted 256 MiB guest
 * (Debian's kernel, a busybox initrd that dirties 4 MiB a second) between the two libvirt daemons of
 * scripts/setup-vms.sh, in the same run. Each round: Hive a->b, Hive b->a, virsh a->b, virsh
 * b->a; wall time of each, from the call to the guest running on the other side. Run:
 *
 * <pre>scripts/setup-vms.sh && java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.LiveMigrationHarness [rounds]</pre>
 */
public final class LiveMigrationHarness {
  static final String A = "qemu+unix:///system?socket=/run/hive-libvirt/node-a/run/libvirt-sock";
  static final String B = "qemu+unix:///system?socket=/run/hive-libvirt/node-b/run/libvirt-sock";
  static final String A_PEER = "qemu+tcp://127.0.0.1:16501/system";
  static final String B_PEER = "qemu+tcp://127.0.0.1:16502/system";

  private LiveMigrationHarness() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    Path base = Files.createTempDirectory("hive-live-bench");
    int portA = TransferHarness.freePortPair();
    try (Cluster a = Hive.builder().clusterName("bench").nodeName("a").dataDir(base.resolve("a")).port(portA).bindAddress("127.0.0.1").httpPort(-1)
        .vmRuntime("libvirt").setting("hive.libvirt.uri", A).setting("hive.libvirt.migration-uri", A_PEER).start()) {
      String token = ((LocalCluster) a).joinToken().orElseThrow();
      try (Cluster b = Hive.builder().clusterName("bench").nodeName("b").dataDir(base.resolve("b")).port(TransferHarness.freePortPair()).bindAddress("127.0.0.1")
          .httpPort(-1).seeds(List.of("127.0.0.1:" + portA)).joinToken(token).vmRuntime("libvirt").setting("hive.libvirt.uri", B)
          .setting("hive.libvirt.migration-uri", B_PEER).start()) {
        TransferHarness.awaitAlive(a, b.localNode().id());
        String vm = "bench-live";
        a.vms().create(VmSpec.builder(vm).memoryBytes(256L << 20).kernel(Path.of("/var/lib/hive-guest/vmlinuz"))
            .initrd(Path.of("/var/lib/hive-guest/initrd.cpio.gz")).cmdline("console=ttyS0 quiet").serialLog(base.resolve("serial.log")).node("a").build());
        Thread.sleep(10_000); // let the guest boot and start dirtying memory
        List<Double> hive = new ArrayList<>();
        List<Double> virsh = new ArrayList<>();
        List<Long> downtimes = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
          for (String target : List.of("b", "a")) {
            long t0 = System.nanoTime();
            MigrationStatus s = a.vms().require(vm).migrate(target, MigrationMode.LIVE, MigrationOptions.defaults()).result().get(5, TimeUnit.MINUTES);
            double ms = (System.nanoTime() - t0) / 1e6;
            if (s.state() != MigrationState.SUCCEEDED) {
              throw new IllegalStateException("Hive's migration failed: " + s);
            }
            hive.add(ms);
            downtimes.add(s.downtimeMs());
          }
          virsh.add(virshMigrate(A, vm, B_PEER));
          virsh.add(virshMigrate(B, vm, A_PEER));
          System.out.printf("round %d: hive %.0f / %.0f ms, virsh %.0f / %.0f ms%n", r + 1, hive.get(2 * r), hive.get(2 * r + 1), virsh.get(2 * r),
              virsh.get(2 * r + 1));
        }
        a.vms().require(vm).delete();
        double h = TransferHarness.median(hive);
        double v = TransferHarness.median(virsh);
        System.out.printf("LIVE migration of a booted 256 MiB guest, median of %d: Hive %.0f ms, virsh migrate --live --p2p %.0f ms, ratio %.2f;"
            + " Hive's QEMU-reported downtime median %d ms%n", hive.size(), h, v, h / v, downtimes.stream().sorted().toList().get(downtimes.size() / 2));
      }
    }
  }

  private static double virshMigrate(String from, String vm, String to) throws Exception {
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder("virsh", "-c", from, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", vm, to,
        "--migrateuri", "tcp://127.0.0.1").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException("virsh migrate failed: " + out);
    }
    return (System.nanoTime() - t0) / 1e6;
  }
}
