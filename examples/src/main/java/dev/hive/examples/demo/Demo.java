package dev.hive.examples.demo;

import dev.hive.api.App;
import dev.hive.api.AppSpec;
import dev.hive.api.Cluster;
import dev.hive.api.HealthCheck;
import dev.hive.api.Hive;
import dev.hive.api.HiveEvent;
import dev.hive.api.Instance;
import dev.hive.api.Subscription;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code hive demo}: Hive on its embedded defaults, in one command. Starts a node (SQLite store,
 * process runtime, REST API), deploys a small web app shipped in hive.jar, scales it, kills an
 * instance with SIGKILL and shows it healed, then prints what happened.
 */
@Command(name = "demo", description = "Show Hive working on its embedded defaults: deploy, scale, kill, heal.")
public final class Demo implements Callable<Integer> {
  @Option(names = "--exit-after", description = "stop this many seconds after the demo started (default: run until Ctrl-C)")
  Integer exitAfterSeconds;

  @Option(names = "--data-dir", description = "where the demo node keeps its state (default: a new temporary directory)")
  Path dataDir;

  @Option(names = "--http-port", defaultValue = "0", description = "REST API port (default: any free port)")
  int httpPort;

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  private final CountDownLatch cleanedUp = new CountDownLatch(1);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Override
  public Integer call() throws Exception {
    long started = System.nanoTime();
    PrintWriter out = spec.commandLine().getOut();
    if (exitAfterSeconds != null && exitAfterSeconds < 0) {
      throw new dev.hive.api.InvalidSpecException("exit-after", exitAfterSeconds + " must be 0 or more seconds");
    }
    Path dir = dataDir != null ? dataDir : Files.createTempDirectory("hive-demo-");
    try (Cluster cluster = Hive.builder().dataDir(dir).httpPort(httpPort).nodeName("demo").start();
        Subscription events = cluster.subscribe(e -> printEvent(out, e))) {
      out.printf("== Hive node %s started: data dir %s, REST API %s%n", cluster.localNode().id(), dir, cluster.apiUrl());
      String command = helloCommand();
      out.printf("== deploying 'hello' (2 replicas, health check GET /): %s%n", command);
      App hello =
          cluster.apps()
              .deploy(AppSpec.builder("hello").command(command).port(8080).replicas(2)
                  .healthCheck(HealthCheck.http("/").withInterval(Duration.ofMillis(500))).build());
      hello.awaitHealthy(Duration.ofSeconds(60));
      show(out, hello);

      out.println("== scaling 'hello' to 3");
      hello.scale(3).awaitHealthy(Duration.ofSeconds(60));
      show(out, hello);

      Instance victim = hello.instances().get(0);
      long pid = victim.pid().orElseThrow();
      out.printf("== killing %s (pid %d) with SIGKILL%n", victim.id(), pid);
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      awaitRestarted(hello, victim.id(), Duration.ofSeconds(60));
      hello.awaitHealthy(Duration.ofSeconds(60));
      Instance healed = hello.instances().stream().filter(i -> i.id().equals(victim.id())).findFirst().orElseThrow();
      out.printf("== healed: %s is %s again as pid %d after %d restart(s)%n", healed.id(), healed.state(), healed.pid().orElse(-1), healed.restarts());
      show(out, hello);

      out.printf("== try it: curl %s/api/v1/instances   or   java -jar hive.jar --api %s app containers%n", cluster.apiUrl(), cluster.apiUrl());
      waitUntilExit(out, started);
      out.println("== removing 'hello' and stopping the node");
      events.close();
      cluster.apps().delete("hello");
    } finally {
      cleanedUp.countDown();
    }
    out.flush();
    return 0;
  }

  /** The web workload: this same jar, run by this same java, on $PORT. */
  private static String helloCommand() {
    String javaBinary = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // Absolute: the workload runs in its own working directory under the data dir.
    StringBuilder classpath = new StringBuilder();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      classpath.append(classpath.length() == 0 ? "" : java.io.File.pathSeparator).append(Path.of(entry).toAbsolutePath());
    }
    return "'" + javaBinary + "' -Xmx32m -XX:TieredStopAtLevel=1 -cp '" + classpath + "' " + HelloServer.class.getName();
  }

  private void show(PrintWriter out, App app) {
    out.printf("   %-18s %-8s %-8s %-9s %s%n", "INSTANCE", "STATE", "PID", "RESTARTS", "ANSWER");
    for (Instance i : app.instances()) {
      int port = i.hostPorts().values().iterator().next();
      out.printf("   %-18s %-8s %-8s %-9d %s%n", i.id(), i.state(), i.pid().isPresent() ? i.pid().getAsLong() : "-", i.restarts(), get(port));
    }
    out.flush();
  }

  private String get(int port) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString());
      return "http://127.0.0.1:" + port + " -> " + r.statusCode() + " " + r.body().strip();
    } catch (IOException e) {
      return "http://127.0.0.1:" + port + " -> " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private static void awaitRestarted(App app, String id, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      List<Instance> instances = app.instances();
      if (instances.stream().anyMatch(i -> i.id().equals(id) && i.restarts() > 0)) {
        return;
      }
      Thread.sleep(100);
    }
    throw new dev.hive.api.HiveException("instance " + id + " was not restarted within " + timeout.toSeconds() + " s");
  }

  private void waitUntilExit(PrintWriter out, long startedNanos) throws InterruptedException {
    CountDownLatch forever = new CountDownLatch(1);
    if (exitAfterSeconds == null) {
      out.println("== running until Ctrl-C");
      out.flush();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        forever.countDown();
        // Hold the JVM until the main thread has removed the app, so no process is left behind.
        try {
          cleanedUp.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
      forever.await();
      return;
    }
    long left = TimeUnit.SECONDS.toNanos(exitAfterSeconds) - (System.nanoTime() - startedNanos);
    if (left > 0) {
      out.printf("== staying up for %d more second(s) (--exit-after %d)%n", TimeUnit.NANOSECONDS.toSeconds(left), exitAfterSeconds);
      out.flush();
      forever.await(left, TimeUnit.NANOSECONDS);
    }
  }

  private static void printEvent(PrintWriter out, HiveEvent e) {
    if (e.type() == HiveEvent.Type.INSTANCE_STATE_CHANGED || e.type() == HiveEvent.Type.INSTANCE_RESTARTED) {
      out.printf("   event %-22s %-18s %-9s %s%n", e.type(), e.instanceId(), e.state(), e.message());
      out.flush();
    }
  }
}
