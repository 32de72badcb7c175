package dev.hive.core.runtime.process;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.spi.PortBinding;
import dev.hive.spi.RuntimeCapabilities;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadSpec;
import dev.hive.spi.WorkloadStats;
import dev.hive.spi.WorkloadStatus;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code process} runtime. Each workload is {@code /bin/sh -c COMMAND} in its own session
 * (so that stopping it reaches every process it started), with its working directory under
 * {@code work/<id>}, stdout and stderr appended to {@code logs/<id>.log} (rotated once past the
 * size limit), and its record in {@code workloads/<id>.json} for adoption by a later agent.
 *
 * <p>The record is written before the process starts, with a token that also goes into the
 * process's environment ({@code HIVE_WORKLOAD_LAUNCH}): an agent killed after the kernel started
 * the process but before it learnt its pid leaves a record by which the next agent finds the
 * process in {@code /proc}, instead of a process nobody knows of.
 */
final class ProcessRuntime implements WorkloadRuntime {
  private static final Logger log = LoggerFactory.getLogger(ProcessRuntime.class);

  /** Shell words that are not programs on PATH, so their absence from PATH is no error. */
  private static final Set<String> SHELL_WORDS =
      Set.of(
          "exec", "exit", "echo", "cd", "export", "set", "trap", "while", "until", "for", "if", "case", "true", "false",
          ":", ".", "eval", "test", "[", "printf", "read", "wait", "kill", "ulimit", "umask", "{", "(", "!", "unset");

  /** Characters that make a command more than one simple command, which must not be exec'd. */
  private static final Pattern COMPOUND = Pattern.compile("[;&|<>()`\\n{}]|\\$\\(");

  private static final Path SETSID = findOnPath("setsid");

  /** The environment variable that carries a start's token (see the class comment). */
  static final String LAUNCH_VARIABLE = "HIVE_WORKLOAD_LAUNCH";

  private final Path workloadsDir;
  private final Path logsDir;
  private final Path workDir;
  private final CgroupLimits cgroups;
  private final long maxLogBytes;
  private final boolean inheritEnv;
  private final ObjectMapper json =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  private final Map<String, Tracked> tracked = new ConcurrentHashMap<>();
  private final List<Consumer<WorkloadStatus>> exitListeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService housekeeping;
  /** Once closed, a later agent owns the records: this object writes nothing more. */
  private volatile boolean closed;
  /** Runs between the process's start and the record of its pid: a test stands an agent killed there in. */
  Runnable afterSpawn = () -> {};

  /** One workload: its record, and the handle to its process while it runs. */
  private static final class Tracked {
    ProcessRecord record;
    Process child;
    ProcessHandle handle;

    Tracked(ProcessRecord record) {
      this.record = record;
    }
  }

  /**
   * What a workload gets of the daemon's environment unless it inherits all of it: where programs
   * are and how text is read, none of what an operator may have exported for the daemon
   * ({@code HIVE_JOIN_TOKEN}, cloud keys).
   */
  static final java.util.Set<String> BASE_ENV = java.util.Set.of("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR");

  ProcessRuntime(Path dataDir, CgroupLimits cgroups, long maxLogBytes, Duration housekeepingInterval, boolean inheritEnv) {
    this.inheritEnv = inheritEnv;
    this.workloadsDir = dataDir.resolve("workloads");
    this.logsDir = dataDir.resolve("logs");
    this.workDir = dataDir.resolve("work");
    this.cgroups = cgroups;
    this.maxLogBytes = maxLogBytes;
    try {
      Files.createDirectories(workloadsDir);
      Files.createDirectories(logsDir);
      Files.createDirectories(workDir);
    } catch (IOException e) {
      throw new HiveException("process runtime: cannot create its directories under " + dataDir + ": " + e.getMessage(), e);
    }
    readRecordsAndAdoptSurvivors();
    housekeeping =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "hive-process-housekeeping");
              t.setDaemon(true);
              return t;
            });
    long ms = housekeepingInterval.toMillis();
    housekeeping.scheduleWithFixedDelay(this::rotateLogs, ms, ms, TimeUnit.MILLISECONDS);
  }

  @Override
  public String name() {
    return "process";
  }

  @Override
  public RuntimeCapabilities capabilities() {
    return new RuntimeCapabilities(true, false, cgroups.available(), cgroups.note());
  }

  @Override
  public WorkloadStatus start(WorkloadSpec spec) {
    if (spec.image() != null) {
      throw new InvalidSpecException("image", "the process runtime runs commands, not images; use --runtime docker or podman for " + spec.image());
    }
    String id = spec.id();
    Tracked existing = tracked.get(id);
    if (existing != null && existing.record.running) {
      throw new ConflictException("workload " + id + " is already running (pid " + existing.record.pid + ")");
    }
    checkProgramExists(spec.command());
    if ((spec.cpus() > 0 || spec.memoryBytes() > 0) && !cgroups.available()) {
      log.warn("workload {} asks for limits but they cannot be enforced here: {}", id, cgroups.note());
    }

    Path logFile = logsDir.resolve(id + ".log");
    Path cwd = workDir.resolve(id);
    ProcessRecord record = new ProcessRecord();
    record.id = id;
    record.command = spec.command();
    record.labels = new HashMap<>(spec.labels());
    record.ports = spec.ports();
    record.launch = java.util.UUID.randomUUID().toString();
    record.groupLeader = SETSID != null;
    record.running = true;
    try {
      if (existing != null) {
        // A restart in place: the log goes on (it tells why the last run ended).
        tracked.remove(id);
      }
      Files.createDirectories(cwd);
      // A single program is exec'd, so that the pid Hive reports is the program's own.
      String script = execsAProgram(spec.command()) ? "exec " + spec.command() : spec.command();
      if (cgroups.available() && (spec.cpus() > 0 || spec.memoryBytes() > 0)) {
        StringBuilder join = new StringBuilder();
        for (Path procs : cgroups.create(id, spec.cpus(), spec.memoryBytes())) {
          join.append("echo $$ > '").append(procs).append("' || exit 125; ");
        }
        script = join + script;
      }
      List<String> argv = new ArrayList<>();
      if (SETSID != null) {
        argv.add(SETSID.toString());
      }
      argv.addAll(List.of("/bin/sh", "-c", script));
      ProcessBuilder pb = new ProcessBuilder(argv).directory(cwd.toFile());
      if (!inheritEnv) {
        pb.environment().keySet().retainAll(BASE_ENV);
      }
      pb.environment().putAll(spec.env());
      for (int i = 0; i < spec.ports().size(); i++) {
        PortBinding port = spec.ports().get(i);
        if (i == 0) {
          pb.environment().put("PORT", Integer.toString(port.hostPort()));
        }
        pb.environment().put("PORT_" + port.name().toUpperCase(java.util.Locale.ROOT).replace('-', '_'), Integer.toString(port.hostPort()));
      }
      pb.environment().put("HIVE_WORKLOAD_ID", id);
      pb.environment().put(LAUNCH_VARIABLE, record.launch);
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      save(record);
      Process process;
      try {
        process = pb.start();
      } catch (IOException e) {
        Files.deleteIfExists(workloadsDir.resolve(id + ".json"));
        throw e;
      }
      afterSpawn.run();
      record.pid = process.pid();
      record.processStartMillis = process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
      record.startedAtMillis = System.currentTimeMillis();
      Tracked t = new Tracked(record);
      t.child = process;
      t.handle = process.toHandle();
      tracked.put(id, t);
      save(record);
      process.onExit().thenAccept(p -> exited(t, OptionalInt.of(p.exitValue()), ""));
      return status(record);
    } catch (IOException e) {
      cgroups.remove(id);
      deleteTree(cwd);
      throw new HiveException("process runtime: cannot start workload " + id + ": " + e.getMessage(), e);
    }
  }

  /** The program a command starts with, unquoted when it is quoted as a whole ('/opt/my app/x'). */
  private static String firstWord(String command) {
    String c = command.strip();
    if (!c.isEmpty() && (c.charAt(0) == '\'' || c.charAt(0) == '"')) {
      int close = c.indexOf(c.charAt(0), 1);
      if (close > 0) {
        return c.substring(1, close);
      }
    }
    return c.split("\\s+", 2)[0];
  }

  /** True for one simple command that runs a program (not a builtin, assignment or compound). */
  private static boolean execsAProgram(String command) {
    String first = firstWord(command);
    return !COMPOUND.matcher(command).find() && !first.contains("=") && !SHELL_WORDS.contains(first) && !first.startsWith("$");
  }

  /** Refuses a command whose program is not there, so the reason is clear instead of exit 127. */
  private static void checkProgramExists(String command) {
    String first = firstWord(command);
    if (first.contains("=") || SHELL_WORDS.contains(first) || COMPOUND.matcher(first).find() || first.startsWith("$")) {
      return;
    }
    if (first.contains("/")) {
      if (!Files.isExecutable(Path.of(first))) {
        throw new HiveException("program " + first + " not found or not executable; check the path in the command");
      }
    } else if (findOnPath(first) == null) {
      throw new HiveException("program '" + first + "' not found on PATH (" + System.getenv("PATH") + "); install it or give its full path");
    }
  }

  private static Path findOnPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        Path candidate = Path.of(dir, program);
        if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
          return candidate;
        }
      }
    }
    return null;
  }

  private void exited(Tracked t, OptionalInt exitCode, String reason) {
    ProcessRecord r;
    synchronized (t) {
      if (!t.record.running || closed) {
        return;
      }
      r = t.record;
      // Whatever the workload left behind in its session goes with it.
      if (r.groupLeader) {
        signalGroup(r.pid, "KILL");
      }
      r.running = false;
      r.exitCode = exitCode.isPresent() ? exitCode.getAsInt() : null;
      r.reason = reason.isEmpty() ? describeExit(exitCode) : reason;
      t.child = null;
      t.handle = null;
      cgroups.remove(r.id);
      if (tracked.get(r.id) == t) {
        save(r);
      }
    }
    WorkloadStatus status = status(r);
    for (Consumer<WorkloadStatus> listener : exitListeners) {
      try {
        listener.accept(status);
      } catch (RuntimeException e) {
        log.warn("exit listener failed for {}", r.id, e);
      }
    }
  }

  private static String describeExit(OptionalInt exitCode) {
    if (exitCode.isEmpty()) {
      return "exited; exit code unknown";
    }
    int code = exitCode.getAsInt();
    if (code == 0) {
      return "exited with code 0";
    } else if (code == 127) {
      return "exited with code 127: the shell did not find a program in the command (see the logs)";
    } else if (code > 128 && code < 160) {
      return "killed by signal " + (code - 128) + " (exit code " + code + ")";
    }
    return "exited with code " + code;
  }

  @Override
  public void stop(String id, Duration grace) {
    Tracked t = tracked.get(id);
    if (t == null) {
      return;
    }
    ProcessHandle handle;
    Process child;
    ProcessRecord r;
    synchronized (t) {
      if (!t.record.running || t.handle == null) {
        return;
      }
      handle = t.handle;
      child = t.child;
      r = t.record;
    }
    signal(r, handle, "TERM");
    if (!awaitExit(handle, grace)) {
      signal(r, handle, "KILL");
      if (!awaitExit(handle, Duration.ofSeconds(10))) {
        throw new HiveException("process " + r.pid + " of workload " + id + " survived SIGKILL for 10 s; it may be stuck in the kernel (D state)");
      }
    }
    OptionalInt code = OptionalInt.empty();
    if (child != null) {
      try {
        code = OptionalInt.of(child.waitFor());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    exited(t, code, "");
  }

  private static boolean awaitExit(ProcessHandle handle, Duration timeout) {
    try {
      handle.onExit().get(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return !handle.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !handle.isAlive();
    } catch (java.util.concurrent.ExecutionException e) {
      return !handle.isAlive();
    }
  }

  private static void signal(ProcessRecord r, ProcessHandle handle, String signal) {
    if (r.groupLeader) {
      signalGroup(r.pid, signal);
    } else {
      handle.descendants().forEach(d -> destroy(d, signal));
      destroy(handle, signal);
    }
  }

  private static void destroy(ProcessHandle handle, String signal) {
    if (signal.equals("KILL")) {
      handle.destroyForcibly();
    } else {
      handle.destroy();
    }
  }

  /** Signals every process of the session the workload leads (its pid is the group id). */
  private static void signalGroup(long pgid, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, "--", "-" + pgid).redirectErrorStream(true).start();
      kill.getInputStream().readAllBytes();
      kill.waitFor(5, TimeUnit.SECONDS);
    } catch (IOException e) {
      log.warn("cannot signal process group {}: {}", pgid, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void remove(String id) {
    stop(id, Duration.ZERO);
    Tracked t = tracked.remove(id);
    if (t == null) {
      return;
    }
    cgroups.remove(id);
    try {
      Files.deleteIfExists(workloadsDir.resolve(id + ".json"));
      Files.deleteIfExists(logsDir.resolve(id + ".log"));
      Files.deleteIfExists(logsDir.resolve(id + ".log.1"));
    } catch (IOException e) {
      log.warn("cannot delete the files of workload {}: {}", id, e.getMessage());
    }
    deleteTree(workDir.resolve(id));
  }

  @Override
  public Optional<WorkloadStatus> inspect(String id) {
    Tracked t = tracked.get(id);
    if (t == null) {
      return Optional.empty();
    }
    synchronized (t) {
      return Optional.of(status(t.record));
    }
  }

  @Override
  public List<WorkloadStatus> list(Map<String, String> labels) {
    List<WorkloadStatus> result = new ArrayList<>();
    for (Tracked t : tracked.values()) {
      synchronized (t) {
        if (t.record.labels.entrySet().containsAll(labels.entrySet())) {
          result.add(status(t.record));
        }
      }
    }
    result.sort(Comparator.comparing(WorkloadStatus::id));
    return result;
  }

  @Override
  public List<String> logs(String id, int lines) {
    if (lines <= 0 || !tracked.containsKey(id)) {
      return List.of();
    }
    List<String> tail = tailLines(logsDir.resolve(id + ".log"), lines);
    if (tail.size() < lines) {
      List<String> older = tailLines(logsDir.resolve(id + ".log.1"), lines - tail.size());
      older.addAll(tail);
      tail = older;
    }
    return tail;
  }

  /** Reads the last {@code lines} lines, reading from the end so a large log costs little. */
  static List<String> tailLines(Path file, int lines) {
    if (!Files.exists(file)) {
      return new ArrayList<>();
    }
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      long length = raf.length();
      long window = Math.min(length, Math.max(8192L, lines * 256L));
      while (true) {
        byte[] buffer = new byte[(int) window];
        raf.seek(length - window);
        raf.readFully(buffer);
        String text = new String(buffer, StandardCharsets.UTF_8);
        List<String> all = new ArrayList<>(List.of(text.split("\n", -1)));
        if (!all.isEmpty() && all.get(all.size() - 1).isEmpty()) {
          all.remove(all.size() - 1);
        }
        boolean wholeFile = window == length;
        if (all.size() > lines || wholeFile) {
          if (!wholeFile) {
            all.remove(0); // the first line of a window may be cut
          }
          return new ArrayList<>(all.subList(Math.max(0, all.size() - lines), all.size()));
        }
        window = Math.min(length, window * 4);
      }
    } catch (IOException e) {
      return new ArrayList<>(List.of("<cannot read " + file + ": " + e.getMessage() + ">"));
    }
  }

  @Override
  public Optional<WorkloadStats> stats(String id) {
    Tracked t = tracked.get(id);
    if (t == null) {
      return Optional.empty();
    }
    ProcessHandle handle;
    synchronized (t) {
      handle = t.handle;
    }
    if (handle == null || !handle.isAlive()) {
      return Optional.empty();
    }
    long cpu = handle.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    long rss = 0;
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(handle.pid()), "status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // No /proc (not Linux) or the process just ended: report CPU time alone.
    }
    return Optional.of(new WorkloadStats(cpu, rss));
  }

  @Override
  public void onExit(Consumer<WorkloadStatus> listener) {
    exitListeners.add(listener);
  }

  @Override
  public void close() {
    closed = true;
    housekeeping.shutdownNow();
    exitListeners.clear();
  }

  private WorkloadStatus status(ProcessRecord r) {
    return new WorkloadStatus(
        r.id,
        r.running ? WorkloadStatus.State.RUNNING : WorkloadStatus.State.EXITED,
        r.pid > 0 ? OptionalLong.of(r.pid) : OptionalLong.empty(),
        r.exitCode == null ? OptionalInt.empty() : OptionalInt.of(r.exitCode),
        r.startedAtMillis > 0 ? Instant.ofEpochMilli(r.startedAtMillis) : null,
        r.labels,
        r.ports,
        r.running ? "" : r.reason);
  }

  private void readRecordsAndAdoptSurvivors() {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(workloadsDir, "*.json")) {
      for (Path file : files) {
        ProcessRecord r;
        try {
          r = json.readValue(file.toFile(), ProcessRecord.class);
        } catch (IOException e) {
          log.warn("ignoring unreadable workload record {}: {}", file, e.getMessage());
          continue;
        }
        Tracked t = new Tracked(r);
        tracked.put(r.id, t);
        if (!r.running) {
          continue;
        }
        if (r.pid == 0 && findLaunched(r)) {
          save(r);
        }
        Optional<ProcessHandle> alive = r.pid == 0 ? Optional.empty() : ProcessHandle.of(r.pid).filter(ProcessHandle::isAlive).filter(h -> sameProcess(h, r));
        if (alive.isPresent()) {
          t.handle = alive.get();
          alive.get().onExit().thenAccept(h -> exited(t, OptionalInt.empty(), "exited while adopted; its exit code is unknown to a non-parent"));
          log.info("adopted workload {} (pid {})", r.id, r.pid);
        } else {
          r.running = false;
          r.reason = r.pid == 0 ? "its agent stopped while starting it, and it is not running" : "ended while no agent watched it; exit code unknown";
          // Its leftovers share its group id, which the kernel does not hand out while they live;
          // but if the pid is in use again, that process and its group are somebody else's.
          if (r.groupLeader && r.pid > 0 && ProcessHandle.of(r.pid).isEmpty()) {
            signalGroup(r.pid, "KILL");
          }
          cgroups.remove(r.id);
          save(r);
        }
      }
    } catch (IOException e) {
      throw new HiveException("process runtime: cannot read " + workloadsDir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Completes the record of a start its agent did not see through: the process whose environment
   * holds the start's token and whose parent's does not (the shell, or the program it exec'd).
   *
   * @return false when there is none: the start did not get as far as the process
   */
  private static boolean findLaunched(ProcessRecord r) {
    byte[] token = (LAUNCH_VARIABLE + "=" + r.launch).getBytes(StandardCharsets.UTF_8);
    java.util.Set<Long> launched = new java.util.HashSet<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
        try {
          if (r.launch != null && containsVariable(Files.readAllBytes(p.resolve("environ")), token)) {
            launched.add(Long.parseLong(p.getFileName().toString()));
          }
        } catch (IOException | RuntimeException e) {
          // Ended meanwhile, or not ours to read.
        }
      });
    } catch (IOException e) {
      log.warn("cannot look for workload {} in /proc: {}", r.id, e.getMessage());
      return false;
    }
    for (long pid : launched) {
      Optional<ProcessHandle> handle = ProcessHandle.of(pid);
      if (handle.isPresent() && !handle.get().parent().map(ProcessHandle::pid).map(launched::contains).orElse(false)) {
        r.pid = pid;
        r.processStartMillis = handle.get().info().startInstant().map(Instant::toEpochMilli).orElse(0L);
        r.startedAtMillis = r.processStartMillis;
        log.info("found workload {} (pid {}), started by an agent that stopped before it recorded the pid", r.id, pid);
        return true;
      }
    }
    return false;
  }

  /** True when a NUL-separated environment block holds {@code variable} (NAME=value) as one of its entries. */
  private static boolean containsVariable(byte[] environ, byte[] variable) {
    outer:
    for (int i = 0; i + variable.length <= environ.length; i++) {
      if (i > 0 && environ[i - 1] != 0) {
        continue;
      }
      for (int j = 0; j < variable.length; j++) {
        if (environ[i + j] != variable[j]) {
          continue outer;
        }
      }
      if (i + variable.length == environ.length || environ[i + variable.length] == 0) {
        return true;
      }
    }
    return false;
  }

  /** True when {@code handle} is the very process the record describes, not a reuse of its pid. */
  private static boolean sameProcess(ProcessHandle handle, ProcessRecord r) {
    return handle.info().startInstant().map(Instant::toEpochMilli).map(ms -> ms == r.processStartMillis).orElse(false);
  }

  private void save(ProcessRecord r) {
    Path file = workloadsDir.resolve(r.id + ".json");
    Path tmp = workloadsDir.resolve(r.id + ".json." + Thread.currentThread().getId() + ".tmp");
    try {
      json.writeValue(tmp.toFile(), r);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new HiveException("process runtime: cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** Copy-truncate rotation: the writer keeps its O_APPEND descriptor and goes on at offset 0. */
  private void rotateLogs() {
    for (Tracked t : tracked.values()) {
      Path file = logsDir.resolve(t.record.id + ".log");
      try {
        if (Files.exists(file) && Files.size(file) > maxLogBytes) {
          Files.copy(file, logsDir.resolve(t.record.id + ".log.1"), StandardCopyOption.REPLACE_EXISTING);
          try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
          }
        }
      } catch (IOException e) {
        log.warn("cannot rotate {}: {}", file, e.getMessage());
      }
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", dir, e.getMessage());
    }
  }
}
