package dev.hive.benchmarks;

import dev.hive.api.App;
import dev.hive.api.AppSpec;
import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.api.InstanceState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * "Deploy one container and see it running": through an embedded Hive node (deploy an app of one
 * replica, wait until its instance is RUNNING) against the runtime's own CLI ({@code podman run
 * -d} / {@code docker run -d}, then {@code inspect} until running), alternating, in the same run,
 * on the same image. Prints the medians and the ratio CLI / Hive (above 1: Hive is faster).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hive.benchmarks.ContainerStartHarness [rounds] [podman,docker]</pre>
 */
public final class ContainerStartHarness {
  static final String IMAGE = "localhost/busybox:latest";

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    List<String> runtimes = Arrays.asList((args.length > 1 ? args[1] : "podman,docker").split(","));
    System.out.printf("%-8s %6s %14s %14s %8s%n", "runtime", "rounds", "CLI median ms", "Hive median ms", "CLI/Hive");
    for (String runtime : runtimes) {
      Path dir = Files.createTempDirectory("hive-container-bench");
      try (Cluster cluster = Hive.builder().dataDir(dir).clusterName("bench-" + ProcessHandle.current().pid()).start()) {
        List<Long> cli = new ArrayList<>();
        List<Long> hive = new ArrayList<>();
        // One untimed round each: the first container start pays for caches and the image's layers.
        viaCli(runtime, "warm");
        viaHive(cluster, runtime, "warm");
        for (int i = 0; i < rounds; i++) {
          cli.add(viaCli(runtime, "r" + i));
          hive.add(viaHive(cluster, runtime, "r" + i));
        }
        double cliMedian = median(cli) / 1e6;
        double hiveMedian = median(hive) / 1e6;
        System.out.printf("%-8s %6d %14.1f %14.1f %8.2f%n", runtime, rounds, cliMedian, hiveMedian, cliMedian / hiveMedian);
      }
    }
  }

  /** Nanoseconds from {@code <runtime> run -d} until {@code inspect} says it runs. */
  static long viaCli(String runtime, String tag) throws IOException, InterruptedException {
    String name = "hive-bench-cli-" + tag + "-" + ProcessHandle.current().pid();
    long start = System.nanoTime();
    run(runtime, "run", "-d", "--init", "--label", "dev.hive.bench=cli", "--name", name, IMAGE, "sleep", "600");
    while (!run(runtime, "inspect", "-f", "{{.State.Running}}", name).strip().equals("true")) {
      Thread.onSpinWait();
    }
    long took = System.nanoTime() - start;
    run(runtime, "rm", "-f", name);
    return took;
  }

  /** Nanoseconds from {@code deploy} until the app's one instance is RUNNING. */
  static long viaHive(Cluster cluster, String runtime, String tag) throws InterruptedException {
    String name = "bench-" + tag;
    long start = System.nanoTime();
    App app = cluster.apps().deploy(AppSpec.builder(name).runtime(runtime).image(IMAGE).command("exec sleep 600").build());
    while (app.instances().stream().noneMatch(i -> i.state() == InstanceState.RUNNING)) {
      Thread.sleep(1);
    }
    long took = System.nanoTime() - start;
    cluster.apps().delete(name);
    while (!app.instances().isEmpty()) {
      Thread.sleep(10);
    }
    return took;
  }

  static String run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
    return out;
  }

  static double median(List<Long> values) {
    List<Long> sorted = new ArrayList<>(values);
    sorted.sort(null);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
  }
}
