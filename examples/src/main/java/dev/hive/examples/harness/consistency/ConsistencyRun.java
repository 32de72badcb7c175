package dev.hive.examples.harness.consistency;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.examples.harness.DaemonProcess;
import dev.hive.examples.harness.consistency.HiveHttp.Answer;
import dev.hive.examples.harness.consistency.Op.Kind;
import dev.hive.examples.harness.consistency.Op.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A Jepsen-style run against a {@link NetnsCluster}: clients deploy, scale, delete and read
 * (linearizably, {@code ?consistent=true}) ten apps through random nodes, every write with its
 * own request id, while a nemesis SIGKILLs and restarts nodes and partitions them (a majority
 * from a minority, a bridge, the leader alone) and heals. Then everything is healed and
 * restarted, the unknown writes are settled by their ids, and the history is checked:
 *
 * <ul>
 *   <li>lost: an acknowledged write whose id is not APPLIED;
 *   <li>resurrected: a refused write whose id is APPLIED;
 *   <li>double applies: a write retried with its id after an unknown outcome, applied, whose
 *       retry was nevertheless refused as a second application (it was not deduplicated);
 *   <li>linearizability of each app's replica count (Wing-Gong search);
 *   <li>after convergence: every node's state equal, one instance per slot, as many instances
 *       (and live processes) as the desired replicas.
 * </ul>
 */
public final class ConsistencyRun {
  static final int APPS = 10;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** What a run found. */
  public record Report(int ops, int acknowledged, int refused, int unknown, int settledApplied, int settledRefused, int lost, int resurrected,
      int doubleApplies, List<String> nonLinearizable, int duplicateSlots, int wrongInstanceCounts, int stateDisagreements, long convergeMillis,
      List<String> faults) {
    /** Returns true when no anomaly was found. */
    public boolean valid() {
      return lost == 0 && resurrected == 0 && doubleApplies == 0 && nonLinearizable.isEmpty() && duplicateSlots == 0 && wrongInstanceCounts == 0
          && stateDisagreements == 0;
    }

    @Override
    public String toString() {
      return String.format("ops %d (acknowledged %d, refused %d, unknown %d: settled applied %d, refused %d); lost %d, resurrected %d,"
              + " double applies %d, non-linearizable apps %s, duplicate slots %d, wrong instance counts %d, nodes disagreeing %d;"
              + " converged %d ms after the final heal; faults: %s",
          ops, acknowledged, refused, unknown, settledApplied, settledRefused, lost, resurrected, doubleApplies, nonLinearizable, duplicateSlots,
          wrongInstanceCounts, stateDisagreements, convergeMillis, faults);
    }
  }

  private final NetnsCluster cluster;
  private final int clients;
  private final Duration duration;
  private final Duration faultEvery;
  private final Random random;
  private final Consumer<String> log;
  private final String appMark = "CHECKED_APP=" + UUID.randomUUID();
  private final HiveHttp http = new HiveHttp();
  private final ConcurrentLinkedQueue<Op> history = new ConcurrentLinkedQueue<>();
  private final Set<String> retried = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final List<String> faults = new ArrayList<>();
  private final long start = System.nanoTime();

  public ConsistencyRun(NetnsCluster cluster, int clients, Duration duration, Duration faultEvery, long seed, Consumer<String> log) {
    this.cluster = cluster;
    this.clients = clients;
    this.duration = duration;
    this.faultEvery = faultEvery;
    this.random = new Random(seed);
    this.log = log;
    log.accept("seed " + seed + ": -D" + SEED_PROPERTY + "=" + seed + " draws the same faults and the same client operations again");
  }

  /** Names the seed of a run to draw the same faults and operations again (the timing differs). */
  public static final String SEED_PROPERTY = "hive.consistency.seed";

  /** The seed given by {@link #SEED_PROPERTY}, or a new one. */
  public static long seed() {
    return Long.getLong(SEED_PROPERTY, System.nanoTime());
  }

  private long now() {
    return System.nanoTime() - start;
  }

  private Answer call(int host, String method, String path, JsonNode body, String requestId) {
    return http.call(cluster.api(host), method, path, body, requestId);
  }

  /** What an answer to a write says: 2xx happened; 4xx refused; not sent refused; the rest unknown. */
  private static Outcome outcomeOf(Answer a) {
    if (a.status() >= 200 && a.status() < 300) {
      return Outcome.OK;
    }
    if (a.status() == 0 || (a.status() >= 400 && a.status() < 500)) {
      return Outcome.FAIL;
    }
    return Outcome.UNKNOWN;
  }

  private Answer write(int host, Kind kind, String app, Integer value, String id) {
    return switch (kind) {
      case DEPLOY -> {
        ObjectNode body = MAPPER.createObjectNode().put("name", app).put("command", "sleep 100000").put("replicas", value);
        String[] kv = appMark.split("=", 2);
        body.putObject("env").put(kv[0], kv[1]);
        yield call(host, "POST", "/api/v1/apps", body, id);
      }
      case SCALE -> call(host, "POST", "/api/v1/apps/" + app + "/scale", MAPPER.createObjectNode().put("replicas", value), id);
      case DELETE -> call(host, "DELETE", "/api/v1/apps/" + app, null, id);
      case READ -> throw new IllegalArgumentException("not a write");
    };
  }

  private void client(int process, AtomicBoolean stop, long seed, List<Integer> targets) {
    Random r = new Random(seed);
    while (!stop.get()) {
      int host = targets.get(r.nextInt(targets.size()));
      String app = "c" + r.nextInt(APPS);
      int dice = r.nextInt(10);
      Kind kind = dice < 3 ? Kind.READ : dice < 5 ? Kind.DEPLOY : dice < 9 ? Kind.SCALE : Kind.DELETE;
      Integer value = kind == Kind.DEPLOY || kind == Kind.SCALE ? r.nextInt(4) : null;
      if (kind == Kind.READ) {
        Op op = new Op(process, kind, app, null, null, "h" + host, now(), Long.MAX_VALUE, Outcome.UNKNOWN, null);
        Answer a = call(host, "GET", "/api/v1/apps/" + app + "?consistent=true", null, null);
        if (a.status() == 200) {
          history.add(op.completed(now(), Outcome.OK, a.body().path("replicas").asInt(), null));
        } else if (a.status() == 404 && a.body().path("error").asText().contains("no app named")) {
          history.add(op.completed(now(), Outcome.OK, null, null));
        } else {
          history.add(op.completed(now(), Outcome.FAIL, null, a.body().path("error").asText()));
        }
        continue;
      }
      String id = "w" + process + "-" + UUID.randomUUID();
      Op op = new Op(process, kind, app, value, id, "h" + host, now(), Long.MAX_VALUE, Outcome.UNKNOWN, null);
      Answer a = write(host, kind, app, value, id);
      Outcome outcome = outcomeOf(a);
      if (outcome == Outcome.UNKNOWN) {
        // Retried once with the same id through another node, as a client would: it must not apply twice.
        int other = targets.size() > 1 ? targets.get((targets.indexOf(host) + 1) % targets.size()) : 1 + (host % cluster.size());
        Answer again = write(other, kind, app, value, id);
        retried.add(id);
        a = again;
        outcome = outcomeOf(again);
      }
      history.add(op.completed(now(), outcome, null, outcome == Outcome.OK ? null : a.body().path("error").asText()));
    }
  }

  /** Runs the clients and the nemesis for the run's duration, heals, converges and checks. */
  public Report run() throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    List<Integer> targets = targets();
    for (int c = 0; c < clients; c++) {
      int process = c;
      long seed = random.nextLong();
      Thread t = new Thread(() -> client(process, stop, seed, targets), "checker-client-" + c);
      t.start();
      threads.add(t);
    }
    long end = System.nanoTime() + duration.toNanos();
    boolean faulty = false;
    while (System.nanoTime() < end) {
      Thread.sleep(Math.min(faultEvery.toMillis(), Math.max(1, (end - System.nanoTime()) / 1_000_000)));
      if (System.nanoTime() >= end) {
        break;
      }
      if (faulty) {
        heal();
      } else {
        fault();
      }
      faulty = !faulty;
    }
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    heal();
    long healedAt = System.nanoTime();
    long converged = converge();
    long convergeMillis = (converged - healedAt) / 1_000_000;
    return check(convergeMillis);
  }

  /** The kinds of fault still to draw in this round: each kind once per four faults, in a random order. */
  private final List<Integer> faultDeck = new ArrayList<>();

  private void fault() throws Exception {
    int n = cluster.size();
    if (faultDeck.isEmpty()) {
      faultDeck.addAll(List.of(0, 1, 2, 3));
      java.util.Collections.shuffle(faultDeck, random);
    }
    switch (faultDeck.remove(faultDeck.size() - 1)) {
      case 0 -> {
        int host = 1 + random.nextInt(n);
        note("kill h" + host);
        cluster.kill(host);
      }
      case 1 -> {
        List<Integer> hosts = new ArrayList<>();
        for (int h = 1; h <= n; h++) {
          hosts.add(h);
        }
        java.util.Collections.shuffle(hosts, random);
        Set<Integer> minority = new TreeSet<>(hosts.subList(0, (n - 1) / 2));
        note("partition " + minority + " from the rest");
        cluster.partition(minority);
      }
      case 2 -> {
        // A bridge: two halves that cannot see each other, and one host that sees both.
        List<Integer> hosts = new ArrayList<>();
        for (int h = 1; h <= n; h++) {
          hosts.add(h);
        }
        java.util.Collections.shuffle(hosts, random);
        int bridge = hosts.get(0);
        List<Integer> left = hosts.subList(1, 1 + (n - 1) / 2);
        List<Integer> right = hosts.subList(1 + (n - 1) / 2, n);
        note("bridge h" + bridge + " between " + left + " and " + right);
        for (int a : left) {
          for (int b : right) {
            cluster.cut(a, b);
          }
        }
      }
      default -> {
        int leader = leader();
        note("isolate the leader h" + leader);
        cluster.partition(Set.of(leader));
      }
    }
  }

  private void heal() throws Exception {
    Set<Integer> running = cluster.running();
    StringBuilder what = new StringBuilder("heal");
    cluster.heal();
    for (int h = 1; h <= cluster.size(); h++) {
      if (!running.contains(h)) {
        what.append(", restart h").append(h);
        cluster.startDaemon(h);
      }
    }
    note(what.toString());
  }

  private void note(String fault) {
    String line = String.format("%7.1f s  %s  (%s)", now() / 1e9, fault, java.time.LocalTime.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    synchronized (faults) {
      faults.add(fault);
    }
    log.accept(line);
  }

  /** Set to true, the workload talks only to the nodes that are clients (not servers) when the run starts. */
  public static final String THROUGH_CLIENTS_PROPERTY = "hive.consistency.throughClients";

  /** The hosts the workload talks to: every host, or with {@link #THROUGH_CLIENTS_PROPERTY} those whose node is a client. */
  private List<Integer> targets() {
    List<Integer> all = new ArrayList<>();
    for (int h = 1; h <= cluster.size(); h++) {
      all.add(h);
    }
    if (!Boolean.getBoolean(THROUGH_CLIENTS_PROPERTY)) {
      return all;
    }
    // Nodes that join together start as clients and are made servers one by one: wait for three.
    int wanted = cluster.size() - 3;
    if (wanted < 1) {
      throw new IllegalStateException("-D" + THROUGH_CLIENTS_PROPERTY + "=true needs more than 3 nodes (3 are servers), not " + cluster.size());
    }
    List<Integer> clientHosts = new ArrayList<>();
    long giveUp = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (clientHosts.size() != wanted) {
      if (System.nanoTime() > giveUp) {
        throw new IllegalStateException("the cluster did not settle on 3 servers and " + wanted + " clients within 60 s: clients " + clientHosts);
      }
      clientHosts.clear();
      Answer a = call(1 + (int) (System.nanoTime() % cluster.size()), "GET", "/api/v1/nodes", null, null);
      if (a.status() == 200) {
        for (JsonNode node : a.body()) {
          String name = node.path("name").asText();
          if (node.path("role").asText().equals("CLIENT") && name.startsWith("h")) {
            clientHosts.add(Integer.parseInt(name.substring(1)));
          }
        }
      }
      if (clientHosts.size() != wanted) {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the roles", e);
        }
      }
    }
    java.util.Collections.sort(clientHosts);
    log.accept("the workload talks to the clients " + clientHosts.stream().map(h -> "h" + h).toList());
    return clientHosts;
  }

  /** The host whose node leads, as the first host that answers says; host 1 if none knows. */
  private int leader() {
    for (int h = 1; h <= cluster.size(); h++) {
      Answer a = call(h, "GET", "/api/v1/nodes", null, null);
      if (a.status() == 200) {
        for (JsonNode node : a.body()) {
          if (node.path("role").asText().equals("LEADER")) {
            String name = node.path("name").asText();
            if (name.startsWith("h")) {
              return Integer.parseInt(name.substring(1));
            }
          }
        }
      }
    }
    return 1;
  }

  /** Waits until every node is healthy and holds the same apps as the leader's current state; returns when. */
  private long converge() throws InterruptedException {
    long giveUp = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (System.nanoTime() < giveUp) {
      if (agreeingNodes() == cluster.size()) {
        return System.nanoTime();
      }
      Thread.sleep(250);
    }
    return System.nanoTime();
  }

  /** Returns how many nodes are healthy and hold the same apps (name and replicas) as a current read. */
  private int agreeingNodes() {
    Map<String, Integer> current = null;
    for (int h = 1; h <= cluster.size() && current == null; h++) {
      Answer a = call(h, "GET", "/api/v1/apps?consistent=true", null, null);
      if (a.status() == 200) {
        current = replicas(a.body());
      }
    }
    if (current == null) {
      return 0;
    }
    int agreeing = 0;
    for (int h = 1; h <= cluster.size(); h++) {
      Answer health = call(h, "GET", "/api/v1/health", null, null);
      Answer apps = call(h, "GET", "/api/v1/apps", null, null);
      if (health.status() == 200 && apps.status() == 200 && replicas(apps.body()).equals(current)) {
        agreeing++;
      }
    }
    return agreeing;
  }

  private static Map<String, Integer> replicas(JsonNode apps) {
    Map<String, Integer> result = new java.util.TreeMap<>();
    apps.forEach(a -> result.put(a.path("name").asText(), a.path("replicas").asInt()));
    return result;
  }

  private Report check(long convergeMillis) throws InterruptedException {
    List<Op> ops = new ArrayList<>(history);
    int acknowledged = 0;
    int refused = 0;
    int unknown = 0;
    int settledApplied = 0;
    int settledRefused = 0;
    int lost = 0;
    int resurrected = 0;
    int doubleApplies = 0;
    Map<String, List<Linearizability.Checked>> byApp = new LinkedHashMap<>();
    for (Op op : ops) {
      Op checked = op;
      boolean optional = false;
      if (op.write()) {
        String status = status(op);
        switch (op.outcome()) {
          case OK -> {
            acknowledged++;
            if (!status.equals("APPLIED")) {
              lost++;
              log.accept("LOST: " + op + " has status " + status);
            }
          }
          case FAIL -> {
            refused++;
            if (status.equals("APPLIED")) {
              if (retried.contains(op.requestId()) && op.kind() == Kind.SCALE) {
                // The scale route looks the app up first: deleted meanwhile, the retry is a 404
                // although the first attempt applied. Neither outcome says anything wrong.
                log.accept("note: " + op + " applied; its retry found the app gone: " + op.error());
                checked = op.completed(now(), Outcome.OK, null, op.error());
              } else if (retried.contains(op.requestId())) {
                doubleApplies++;
                log.accept("DOUBLE APPLY: " + op + " was applied, yet its retry under the same id was refused: " + op.error());
              } else {
                resurrected++;
                log.accept("RESURRECTED: " + op + " was refused, yet its id is APPLIED");
              }
            }
          }
          case UNKNOWN -> {
            unknown++;
            if (status.equals("APPLIED")) {
              settledApplied++;
              // It took effect by the time its status said so.
              checked = op.completed(now(), Outcome.OK, null, op.error());
            } else if (status.equals("REFUSED")) {
              settledRefused++;
              checked = op.completed(now(), Outcome.FAIL, null, op.error());
            } else {
              optional = true;
            }
          }
        }
      }
      byApp.computeIfAbsent(op.app(), a -> new ArrayList<>()).add(new Linearizability.Checked(checked, optional));
    }
    // A final read of every app, after the heal, pins down what the unknown writes did.
    for (int i = 0; i < APPS; i++) {
      String app = "c" + i;
      for (int h = 1; h <= cluster.size(); h++) {
        long invoked = now();
        Answer a = call(h, "GET", "/api/v1/apps/" + app + "?consistent=true", null, null);
        if (a.status() == 200 || (a.status() == 404 && a.body().path("error").asText().contains("no app named"))) {
          Op read = new Op(-1, Kind.READ, app, a.status() == 200 ? a.body().path("replicas").asInt() : null, null, "h" + h, invoked, now(), Outcome.OK,
              null);
          byApp.computeIfAbsent(app, x -> new ArrayList<>()).add(new Linearizability.Checked(read, false));
          break;
        }
      }
    }
    List<String> nonLinearizable = new ArrayList<>();
    byApp.forEach((app, checkedOps) -> {
      if (!Linearizability.check(checkedOps)) {
        nonLinearizable.add(app);
      }
    });
    int[] slots = checkSlots();
    return new Report(ops.size(), acknowledged, refused, unknown, settledApplied, settledRefused, lost, resurrected, doubleApplies, nonLinearizable,
        slots[0], slots[1], cluster.size() - agreeingNodes(), convergeMillis, List.copyOf(faults));
  }

  /** The status of a write's id: asked of the node it was sent to (which can settle it), else of any node. */
  private String status(Op op) {
    int first = Integer.parseInt(op.node().substring(1));
    for (int i = 0; i < cluster.size(); i++) {
      int h = 1 + (first - 1 + i) % cluster.size();
      Answer a = call(h, "GET", "/api/v1/commands/" + op.requestId(), null, null);
      if (a.status() == 200) {
        return a.body().path("state").asText();
      }
    }
    return "NOT_FOUND";
  }

  /**
   * Waits (up to a minute) for the instances to match the desired replicas, then returns
   * {duplicate slots, apps with the wrong number of instances or live processes}.
   */
  private int[] checkSlots() throws InterruptedException {
    int[] result = {0, 0};
    long giveUp = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    do {
      result = countSlots();
      if (result[0] == 0 && result[1] == 0) {
        return result;
      }
      Thread.sleep(500);
    } while (System.nanoTime() < giveUp);
    describeSlots();
    return result;
  }

  /** Says which apps and processes are off, and what each node's events say of them, for a failing run. */
  private void describeSlots() {
    Answer apps = call(1, "GET", "/api/v1/apps?consistent=true", null, null);
    Answer instances = call(1, "GET", "/api/v1/instances", null, null);
    log.accept("desired: " + (apps.status() == 200 ? replicas(apps.body()) : apps.status()));
    Set<String> listed = new TreeSet<>();
    if (instances.status() == 200) {
      for (JsonNode i : instances.body()) {
        listed.add(i.path("id").asText());
        log.accept("listed: " + i.path("id").asText() + " slot " + i.path("app").asText() + "/" + i.path("ordinal").asInt() + " on "
            + i.path("node").asText() + " " + i.path("state").asText() + " pid " + i.path("pid").asText() + ": " + i.path("reason").asText());
      }
    }
    for (long pid : DaemonProcess.livePidsWithEnv(appMark)) {
      String env = "";
      try {
        env = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")), java.nio.charset.StandardCharsets.UTF_8);
      } catch (IOException e) {
        // Gone meanwhile.
      }
      String instance = envValue(env, "HIVE_INSTANCE");
      log.accept("process " + pid + ": instance " + instance + " of node " + envValue(env, "HIVE_NODE") + (listed.contains(instance) ? "" : ", NOT LISTED"));
    }
    for (int h = 1; h <= cluster.size(); h++) {
      Answer events = call(h, "GET", "/api/v1/events", null, null);
      try {
        Files.createDirectories(cluster.logs());
        Files.writeString(cluster.logs().resolve("events-h" + h + ".json"), events.body() == null ? "" : events.body().toPrettyString());
      } catch (IOException e) {
        log.accept("cannot save the events of h" + h + ": " + e.getMessage());
      }
    }
  }

  private static String envValue(String environ, String name) {
    for (String kv : environ.split("\0")) {
      if (kv.startsWith(name + "=")) {
        return kv.substring(name.length() + 1);
      }
    }
    return "?";
  }

  private int[] countSlots() {
    Answer apps = null;
    Answer instances = null;
    for (int h = 1; h <= cluster.size(); h++) {
      apps = call(h, "GET", "/api/v1/apps?consistent=true", null, null);
      instances = call(h, "GET", "/api/v1/instances", null, null);
      if (apps.status() == 200 && instances.status() == 200) {
        break;
      }
    }
    if (apps.status() != 200 || instances.status() != 200) {
      return new int[] {0, APPS};
    }
    Map<String, Integer> desired = replicas(apps.body());
    Map<String, Integer> perSlot = new HashMap<>();
    Map<String, Integer> perApp = new HashMap<>();
    for (JsonNode i : instances.body()) {
      String state = i.path("state").asText();
      if (state.equals("STOPPED") || state.equals("FAILED")) {
        continue;
      }
      perSlot.merge(i.path("app").asText() + "/" + i.path("ordinal").asInt(), 1, Integer::sum);
      perApp.merge(i.path("app").asText(), 1, Integer::sum);
    }
    int duplicates = (int) perSlot.values().stream().filter(c -> c > 1).count();
    int wrong = 0;
    for (Map.Entry<String, Integer> e : desired.entrySet()) {
      if (!perApp.getOrDefault(e.getKey(), 0).equals(e.getValue())) {
        wrong++;
      }
    }
    int processes = DaemonProcess.livePidsWithEnv(appMark).size();
    int wantedProcesses = desired.values().stream().mapToInt(Integer::intValue).sum();
    if (processes != wantedProcesses) {
      wrong++;
    }
    return new int[] {duplicates, wrong};
  }

  /** Writes the history as JSON: every operation, in the order they completed. */
  public void saveHistory(Path file) throws IOException {
    ArrayNode array = MAPPER.createArrayNode();
    for (Op op : history) {
      array.add(MAPPER.valueToTree(op));
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    MAPPER.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), array);
  }
}
