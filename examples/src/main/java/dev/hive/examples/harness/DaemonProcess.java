package dev.hive.examples.harness;

import dev.hive.examples.cli.HiveCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A Hive daemon started from the launcher jar as a separate JVM, as an operator starts it, and
 * killed with SIGKILL when a test or harness says so. Used by the integration tests and by the
 * failover and soak harnesses.
 */
public final class DaemonProcess implements AutoCloseable {
  /** The launcher jar: the {@code hive.jar} system property, else the jar this class runs from, else target/hive.jar. */
  public static final Path HIVE_JAR = Path.of(System.getProperty("hive.jar", ownJar()));

  private static String ownJar() {
    try {
      Path self = Path.of(DaemonProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return self.toString().endsWith(".jar") ? self.toString() : "target/hive.jar";
    } catch (java.net.URISyntaxException | RuntimeException e) {
      return "target/hive.jar";
    }
  }

  public final Path dataDir;
  public final int port;
  public final int clusterPort;
  private static final java.util.concurrent.atomic.AtomicInteger PROXY_ADDRESSES = new java.util.concurrent.atomic.AtomicInteger();
  private final List<String> extraArgs = new ArrayList<>();
  private final String proxyAddress = "127.0.0." + (1 + PROXY_ADDRESSES.getAndIncrement() % 250);
  private Process process;

  public DaemonProcess(Path dataDir, String... extraArgs) throws IOException {
    this.dataDir = dataDir;
    this.port = freePorts(1);
    this.clusterPort = freePortPair();
    this.extraArgs.addAll(List.of(extraArgs));
  }

  /** Replaces the extra arguments, for the next {@link #start} (a restart with other flags, on the same data dir and ports). */
  public DaemonProcess withArgs(String... extraArgs) {
    this.extraArgs.clear();
    this.extraArgs.addAll(List.of(extraArgs));
    return this;
  }

  /**
   * A port whose two successors are free too: the cluster port, the consensus port and libp2p's
   * default port.
   */
  public static int freePortPair() throws IOException {
    return freePorts(3);
  }

  /** Ports handed out in this JVM: a test picks its ports before its daemons bind them. */
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  /**
   * {@code count} free ports in a row below Linux's ephemeral range (32768 up), never handed out
   * twice: a daemon killed and started again binds the same ports, and a port from the ephemeral
   * range may meanwhile be the local end of some outgoing connection (then Ratis cannot bind its
   * consensus port and the daemon exits).
   */
  private static int freePorts(int count) throws IOException {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 500; attempt++) {
      int first = random.nextInt(20_000, 32_000 - count);
      if (IntStream.range(first, first + count).anyMatch(HANDED_OUT::contains)) {
        continue;
      }
      List<ServerSocket> probes = new ArrayList<>();
      try {
        for (int p = first; p < first + count; p++) {
          probes.add(new ServerSocket(p));
        }
        IntStream.range(first, first + count).forEach(HANDED_OUT::add);
        return first;
      } catch (IOException e) {
        // One is taken: try another block.
      } finally {
        for (ServerSocket probe : probes) {
          probe.close();
        }
      }
    }
    throw new IOException("no " + count + " free ports in a row between 20000 and 32000");
  }

  public String clusterAddress() {
    return "127.0.0.1:" + clusterPort;
  }

  public Path log() {
    return dataDir.resolveSibling(dataDir.getFileName() + "-daemon.log");
  }

  public List<String> command() {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java, "-jar", HIVE_JAR.toString(), "daemon", "--data-dir", dataDir.toString(),
        "--http-port", Integer.toString(port), "--port", Integer.toString(clusterPort), "--bind", "127.0.0.1",
        "--setting", "hive.reconcile.stop-grace=3s"));
    if (!extraArgs.contains("--bind")) {
      // Several daemons share 127.0.0.1: each proxies services on its own loopback address, as
      // nodes on separate hosts would on theirs (`hive node info` shows which).
      command.addAll(List.of("--setting", "hive.proxy.address=" + proxyAddress));
    }
    if (!extraArgs.contains("--dns-port")) {
      // Several daemons share this host: each its own DNS port (`hive node info` shows which).
      command.addAll(List.of("--dns-port", "0"));
    }
    for (int i = 0; i < extraArgs.size(); i++) {
      // The join token goes in the environment, as the README advises: on the command line every
      // user of the host sees it in `ps`.
      if (extraArgs.get(i).equals("--token") && i + 1 < extraArgs.size()) {
        i++;
      } else {
        command.add(extraArgs.get(i));
      }
    }
    return command;
  }

  /** The daemon's environment: this JVM's, with the join token its args named. */
  private ProcessBuilder processBuilder() {
    ProcessBuilder pb = new ProcessBuilder(command());
    int at = extraArgs.indexOf("--token");
    if (at >= 0 && at + 1 < extraArgs.size()) {
      pb.environment().put("HIVE_JOIN_TOKEN", extraArgs.get(at + 1));
    }
    return pb;
  }

  /** Runs the daemon expecting it to refuse to start; returns its exit code and output. */
  public CliResult startExpectingFailure(Duration within) throws IOException, InterruptedException {
    Process p = processBuilder().redirectErrorStream(true).start();
    if (!p.waitFor(within.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the daemon kept running; expected it to refuse to start");
    }
    return new CliResult(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8), "");
  }

  public String api() {
    return "http://127.0.0.1:" + port;
  }

  /** Starts the daemon and waits until its API answers. */
  public DaemonProcess start() throws IOException {
    if (!Files.isRegularFile(HIVE_JAR)) {
      throw new IllegalStateException(HIVE_JAR + " is missing: run the integration tests with `mvn verify`, which builds it first");
    }
    process = processBuilder().redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile())).start();
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("the daemon exited with " + process.exitValue() + "; see " + log());
      }
      try {
        if (status("/api/v1/health") == 200) {
          return this;
        }
      } catch (IOException e) {
        // Not listening yet.
      }
      pause(100);
    }
    throw new IllegalStateException("the daemon did not answer on " + api() + " within 90 s; see " + log());
  }

  /** Sleeps: a harness polls real processes in real time. */
  public static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  public long pid() {
    return process.pid();
  }

  /** SIGTERM: the daemon stops as an operator's service manager stops it. */
  public void terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
      throw new IllegalStateException("the daemon did not stop within 60 s of SIGTERM; see " + log());
    }
  }

  /** SIGKILL: the daemon gets no chance to clean up. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /** GETs a JSON document from the daemon's API. */
  public com.fasterxml.jackson.databind.JsonNode getJson(String path) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(api() + path).toURL().openConnection();
    c.setConnectTimeout(1000);
    c.setReadTimeout(5000);
    try (java.io.InputStream in = c.getInputStream()) {
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
    } finally {
      c.disconnect();
    }
  }

  public int status(String path) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(api() + path).toURL().openConnection();
    c.setConnectTimeout(1000);
    c.setReadTimeout(5000);
    try {
      return c.getResponseCode();
    } finally {
      c.disconnect();
    }
  }

  /** Runs a CLI command against this daemon, in this JVM. */
  public CliResult cli(String... args) {
    List<String> all = new ArrayList<>(List.of("--api", api()));
    all.addAll(List.of(args));
    return run(all.toArray(String[]::new));
  }

  public static CliResult run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = HiveCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new CliResult(code, out.toString(), err.toString());
  }

  /** A CLI command's exit code and output. */
  public record CliResult(int code, String out, String err) {}

  /** Pids of live processes whose working directory is under {@code dir} (read from /proc). */
  public static Set<Long> livePidsWorkingUnder(Path dir) {
    Set<Long> pids = new TreeSet<>();
    Path root = dir.toAbsolutePath().normalize();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      procs.filter(p -> p.getFileName().toString().matches("\\d+")).forEach(p -> {
        try {
          // A removed directory reads as "PATH (deleted)": still under the root.
          if (Files.readSymbolicLink(p.resolve("cwd")).toString().startsWith(root.toString() + "/")) {
            pids.add(Long.parseLong(p.getFileName().toString()));
          }
        } catch (IOException | RuntimeException e) {
          // Gone meanwhile, or not ours to read.
        }
      });
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return pids;
  }

  /** Pids of live processes whose environment holds {@code KEY=VALUE} (read from /proc). */
  public static Set<Long> livePidsWithEnv(String keyValue) {
    Set<Long> pids = new TreeSet<>();
    byte[] needle = keyValue.getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      procs.filter(p -> p.getFileName().toString().matches("\\d+")).forEach(p -> {
        try {
          byte[] env = Files.readAllBytes(p.resolve("environ"));
          if (indexOf(env, needle) >= 0) {
            pids.add(Long.parseLong(p.getFileName().toString()));
          }
        } catch (IOException | RuntimeException e) {
          // Gone meanwhile, or not ours to read.
        }
      });
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return pids;
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      if (i > 0 && haystack[i - 1] != 0) {
        continue;
      }
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  public static void killAll(Set<Long> pids) {
    pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      kill();
    }
  }
}
