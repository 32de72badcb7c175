package dev.hive.core.follow;

import dev.hive.api.CommandStatus;
import dev.hive.api.HiveException;
import dev.hive.api.NotFoundException;
import dev.hive.api.OutcomeUnknownException;
import dev.hive.api.UnavailableException;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.follow.FollowWire.Answer;
import dev.hive.core.follow.FollowWire.Ask;
import dev.hive.core.follow.FollowWire.AskKind;
import dev.hive.core.follow.FollowWire.Change;
import dev.hive.core.follow.FollowWire.Subscribe;
import dev.hive.core.follow.FollowWire.Update;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.Refusals;
import dev.hive.core.state.Request;
import dev.hive.core.state.StateCodec;
import dev.hive.core.state.StateMachine;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's command log: no Raft state, a copy of the cluster state that follows one server
 * ({@link ChangeFeed}) from a snapshot and the ordered changes after it, each with its log
 * index. It resumes from its last index when it subscribes again, switches server when its server
 * falls silent or knows no leader for {@link #SILENCE}, and writes, current reads and status
 * questions go to a server, the write with its request id, so that asking again elsewhere after
 * a failure applies it at most once.
 *
 * <p>A client also relays: when a server (or relay) that has all the followers it feeds
 * redirects a subscription here, this client pushes its copy's changes on, through a {@link
 * ChangeFeed} of its own, to up to {@value #RELAY_FOLLOWERS} followers. It passes on the leader
 * only while it follows a healthy upstream itself, so that a relay cut off is left by its
 * followers as a silent server is; and each update says how many relays it has passed, so that
 * a client never follows a chain longer than {@link FollowWire#MAX_HOPS} (a loop of relays
 * would grow it without end).
 */
public final class FollowedLog implements CommandLog, Transport.Handler {
  /** A server that sends nothing (not even a heartbeat), or knows no leader, for this long is left for another. */
  static final Duration SILENCE = Duration.ofSeconds(3);
  /**
   * How long a subscription may take before the next server is tried: short, since a client cut
   * off tries one server after another, and the one it is trying when the cut heals must not hold
   * it back for long.
   */
  static final Duration SUBSCRIBE_TIMEOUT = Duration.ofSeconds(2);
  /** Followers a client relays the feed to: the fan-out of the tree below the servers' own followers. */
  public static final int RELAY_FOLLOWERS = 16;

  private static final Logger log = LoggerFactory.getLogger(FollowedLog.class);

  private final Transport transport;
  private final String host;
  private final int port;
  private final Supplier<List<DiscoveredPeer>> servers;
  private final Clock clock;
  private final Duration writeTimeout;
  /**
   * The deadlines of the writes this client took, by request id, as long as the ledger keeps
   * outcomes: one that reached no server is settled by its deadline when its status is asked.
   */
  private final Map<String, Long> taken = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      return size() > dev.hive.core.state.RequestLedger.MAX_OUTCOMES;
    }
  });
  private final StateCodec codec = new StateCodec();
  private final List<Consumer<ClusterState>> listeners = new CopyOnWriteArrayList<>();
  private final Map<String, CompletableFuture<Answer>> asks = new ConcurrentHashMap<>();

  // Guarded by this.
  private ClusterState state = ClusterState.EMPTY;
  private long index = -1;
  private String leader = "";
  private DiscoveredPeer server;
  private long lastHeardMillis;
  private long leaderKnownMillis;
  private boolean subscribing;
  private int nextServer;
  /** How many servers there were when this client last chose one: when more appear, some clients move to them. */
  private int serversWhenChosen;
  private final java.util.Random random;
  /** Relays a full feed sent this client to; the next subscription tries one of them. */
  private final List<DiscoveredPeer> redirects = new ArrayList<>();
  private int redirectsInARow;
  /** Relays between the upstream this client follows and a server: 0 when it follows a server. */
  private int upstreamHops;
  private long updates;
  private long snapshots;
  private long bytesReceived;
  private final ChangeFeed relay;
  // Read by the relay's feed without this client's lock: the feed is called with this lock held.
  private volatile String relayLeader = "";
  private volatile int relayHops = FollowWire.MAX_HOPS;

  /**
   * @param host the address servers reach this client at, and {@code port} its cluster port
   * @param servers the servers this client may follow, best first (membership's view of them)
   */
  public FollowedLog(Transport transport, String host, int port, Supplier<List<DiscoveredPeer>> servers, Clock clock, Duration writeTimeout) {
    this(transport, host, port, servers, clock, writeTimeout, java.util.concurrent.ThreadLocalRandom.current().nextInt(1 << 16));
  }

  /** @param firstServer which of the servers to try first, modulo their number: clients spread over the servers, not all on the first */
  public FollowedLog(Transport transport, String host, int port, Supplier<List<DiscoveredPeer>> servers, Clock clock, Duration writeTimeout,
      int firstServer) {
    this.nextServer = firstServer;
    this.random = new java.util.Random(firstServer);
    this.transport = transport;
    this.host = host;
    this.port = port;
    this.servers = servers;
    this.clock = clock;
    this.writeTimeout = writeTimeout;
    this.relay = new ChangeFeed(transport, new Relaying(), clock, Runnable::run, Runnable::run).capacity(RELAY_FOLLOWERS).start();
  }

  /** What a relay's feed stands on: this client's copy, which takes no questions. */
  private final class Relaying implements ChangeFeed.Consensus {
    @Override
    public CompletableFuture<Long> submitAsync(Command command, String requestId, long deadlineMillis) {
      return CompletableFuture.failedFuture(noQuestions());
    }

    @Override
    public CompletableFuture<Long> readIndexAsync() {
      return CompletableFuture.failedFuture(noQuestions());
    }

    @Override
    public CommandStatus status(String requestId, long deadlineWhereTaken) {
      throw noQuestions();
    }

    @Override
    public String leaderId() {
      String leader = relayLeader;
      return leader.isEmpty() ? null : leader;
    }

    @Override
    public void follow(dev.hive.core.consensus.CommittedChanges listener) {
      // take() tells the relay's feed of every change itself.
    }

    @Override
    public int hops() {
      return relayHops;
    }

    private UnavailableException noQuestions() {
      return new UnavailableException("client " + host + " relays the servers' changes and takes no questions; ask a server");
    }
  }

  @Override
  public synchronized ClusterState state() {
    return state;
  }

  /** Returns the log index the state reflects (-1 before the first update). */
  public synchronized long index() {
    return index;
  }

  /** Returns the leader the followed server knows, or null. */
  public synchronized String leaderId() {
    return leader.isEmpty() ? null : leader;
  }

  /** Returns the server this client follows, or null. */
  public synchronized String serverId() {
    return server == null ? null : server.nodeId();
  }

  /** Returns how many clients this one relays the feed to. */
  public int followers() {
    return relay.subscribers();
  }

  /** Returns how many relays stand between this client and a server: 0 when it follows a server. */
  public synchronized int hops() {
    return upstreamHops;
  }

  /** Returns how many updates this client has taken, how many of them were snapshots, and how many bytes they held. */
  public synchronized long[] received() {
    return new long[] {updates, snapshots, bytesReceived};
  }

  /** Returns "ok", or why this client's state may trail the cluster's. */
  public synchronized String lag() {
    long now = clock.millis();
    if (server == null) {
      return "not following any server yet";
    }
    if (now - lastHeardMillis > SILENCE.toMillis()) {
      return "nothing heard from server " + server.nodeId() + " for " + (now - lastHeardMillis) / 1000 + " s";
    }
    if (leader.isEmpty()) {
      return "server " + server.nodeId() + " knows no leader";
    }
    return "ok";
  }

  /** Subscribes, or subscribes elsewhere, when this client follows no server or a silent or leaderless one. Call it a few times a second. */
  public void tick() {
    relay.tick();
    DiscoveredPeer candidate;
    long from;
    synchronized (this) {
      long now = clock.millis();
      boolean healthy = server != null && now - lastHeardMillis <= SILENCE.toMillis() && now - leaderKnownMillis <= SILENCE.toMillis()
          && upstreamHops < FollowWire.MAX_HOPS;
      if (subscribing) {
        return;
      }
      List<DiscoveredPeer> known;
      if (healthy) {
        redirects.clear();
        known = servers.get();
        candidate = moveToANewServer(known);
        if (candidate == null) {
          return;
        }
      } else {
        relayLeader = "";
        if (server != null) {
          log.info("leaving server {}: {}", server.nodeId(), now - lastHeardMillis > SILENCE.toMillis()
              ? "nothing heard from it for " + (now - lastHeardMillis) + " ms"
              : upstreamHops >= FollowWire.MAX_HOPS ? "it is " + upstreamHops + " relays from a server"
              : "it has known no leader for " + (now - leaderKnownMillis) + " ms");
        }
        known = servers.get();
        if (!redirects.isEmpty() && redirectsInARow <= FollowWire.MAX_HOPS) {
          candidate = redirects.remove(random.nextInt(redirects.size()));
        } else {
          redirects.clear();
          redirectsInARow = 0;
          if (known.isEmpty()) {
            return;
          }
          candidate = known.get(Math.floorMod(nextServer++, known.size()));
          if (server != null && known.size() > 1 && candidate.nodeId().equals(server.nodeId())) {
            candidate = known.get(Math.floorMod(nextServer++, known.size()));
          }
        }
      }
      serversWhenChosen = known.size();
      subscribing = true;
      from = index;
    }
    DiscoveredPeer chosen = candidate;
    transport.request(chosen, ChangeFeed.SUBSCRIBE, FollowWire.encode(new Subscribe(from, host, port)), SUBSCRIBE_TIMEOUT)
        .whenComplete((bytes, error) -> {
          if (error != null) {
            log.debug("cannot follow server {}: {}", chosen.nodeId(), error.getMessage());
            synchronized (this) {
              subscribing = false;
              redirects.clear();
            }
            return;
          }
          Update update;
          try {
            update = FollowWire.decodeUpdate(bytes);
          } catch (HiveException e) {
            log.warn("server {} sent an update this client cannot read: {}", chosen.nodeId(), e.getMessage());
            synchronized (this) {
              subscribing = false;
            }
            return;
          }
          if (update.isRedirect()) {
            synchronized (this) {
              subscribing = false;
              redirects.clear();
              redirects.addAll(update.redirect());
              redirectsInARow++;
            }
            // Down the tree now, not a tick later: a deep tree would take a tick a level.
            tick();
            return;
          }
          synchronized (this) {
            redirectsInARow = 0;
            subscribing = false;
            if (server == null || !server.nodeId().equals(chosen.nodeId())) {
              log.info("following server {} from log index {}", chosen.nodeId(), from);
            }
            server = chosen;
            // Heard from just now: a tick before take() below must not find it silent and leave it.
            lastHeardMillis = clock.millis();
            leaderKnownMillis = lastHeardMillis;
          }
          take(chosen.nodeId(), update);
        });
  }

  /**
   * Returns a server to move to when servers were added since this client chose its own, or
   * null to stay. Each client moves with probability (new - old) / new, to one of the others, so
   * that the clients spread evenly again: at formation every client joins while the founder is
   * the only server, and without this all of them stayed on it (Consul's clients rebalance their
   * servers for the same reason). Guarded by this.
   */
  private DiscoveredPeer moveToANewServer(List<DiscoveredPeer> known) {
    int before = serversWhenChosen;
    if (!isServer(server, known)) {
      // Following a relay: the servers' feeds were full, and stay so.
      serversWhenChosen = known.size();
      return null;
    }
    if (known.size() <= before) {
      // Fewer servers (one died): remember it, so that clients move when it is back or replaced.
      serversWhenChosen = known.size();
      return null;
    }
    serversWhenChosen = known.size();
    if (before == 0 || random.nextInt(known.size()) >= known.size() - before) {
      return null;
    }
    List<DiscoveredPeer> others = known.stream().filter(p -> !p.nodeId().equals(server.nodeId())).toList();
    return others.isEmpty() ? null : others.get(random.nextInt(others.size()));
  }

  private static boolean isServer(DiscoveredPeer peer, List<DiscoveredPeer> servers) {
    return peer != null && servers.stream().anyMatch(s -> s.nodeId().equals(peer.nodeId()));
  }

  @Override
  public byte[] handle(String from, String topic, byte[] payload) {
    if (topic.equals(ChangeFeed.SUBSCRIBE)) {
      synchronized (this) {
        if (index < 0 || relayLeader.isEmpty()) {
          throw new UnavailableException("client " + host + " follows no healthy server to relay from; subscribe to a server");
        }
      }
      return relay.handle(from, topic, payload);
    }
    if (topic.equals(ChangeFeed.PUSH)) {
      Update update = FollowWire.decodeUpdate(payload);
      synchronized (this) {
        if (server == null || !server.nodeId().equals(from)) {
          return FollowWire.encodeIndex(ChangeFeed.UNSUBSCRIBE);
        }
      }
      return FollowWire.encodeIndex(take(from, update));
    }
    if (topic.equals(ChangeFeed.ANSWER)) {
      Answer answer = FollowWire.decodeAnswer(payload);
      CompletableFuture<Answer> waiting = asks.get(answer.id());
      if (waiting != null) {
        waiting.complete(answer);
      }
      return new byte[0];
    }
    throw new HiveException("a client takes " + ChangeFeed.SUBSCRIBE + ", " + ChangeFeed.PUSH + " and " + ChangeFeed.ANSWER + ", not " + topic);
  }

  /** Applies an update from {@code from}; returns the index this client is at after it. */
  private long take(String from, Update update) {
    ClusterState after;
    synchronized (this) {
      long now = clock.millis();
      lastHeardMillis = now;
      leader = update.leader();
      if (!leader.isEmpty()) {
        leaderKnownMillis = now;
      }
      upstreamHops = update.hops();
      relayHops = Math.min(upstreamHops + 1, FollowWire.MAX_HOPS);
      relayLeader = upstreamHops < FollowWire.MAX_HOPS ? leader : "";
      updates++;
      bytesReceived += update.changes().stream().mapToLong(c -> c.commands().length).sum() + (update.isSnapshot() ? update.snapshot().length : 0);
      if (update.isSnapshot()) {
        if (update.index() < index) {
          return index; // From a server that trails this copy: keep the newer one.
        }
        state = codec.decodeState(update.snapshot());
        index = update.index();
        snapshots++;
        relay.reset(index, state);
      } else if (update.after() != index) {
        return index; // Not what follows this copy: the server sends again from the index acknowledged.
      } else {
        ClusterState next = state;
        List<ClusterState> afterEach = new ArrayList<>(update.changes().size());
        try {
          for (Change change : update.changes()) {
            for (Request r : codec.decodeRequests(change.commands())) {
              next = StateMachine.apply(next, r.command());
            }
            afterEach.add(next);
          }
        } catch (HiveException e) {
          // A change the server applied that this copy refuses: the copy is wrong. Start over from a snapshot.
          log.error("a change from server {} does not apply to this client's copy ({}); asking for a snapshot", from, e.getMessage());
          index = -1;
          return index;
        }
        if (update.changes().isEmpty() && update.index() == index) {
          return index;
        }
        state = next;
        index = update.index();
        for (int i = 0; i < afterEach.size(); i++) {
          relay.relayed(update.changes().get(i), afterEach.get(i));
        }
        relay.committed(index, List.of(), state);
      }
      after = state;
      notifyAll();
    }
    for (Consumer<ClusterState> listener : listeners) {
      listener.accept(after);
    }
    return update.index();
  }

  @Override
  public ClusterState submit(Command command, String requestId) {
    String id = requestId == null ? UUID.randomUUID().toString() : requestId;
    long deadline = clock.millis() + writeTimeout.toMillis();
    taken.put(id, deadline);
    Answer answer = ask(AskKind.WRITE, id, codec.encode(command), deadline, deadline);
    switch (answer.kind()) {
      case OK -> {
        awaitIndex(answer.index(), deadline + 1000, () -> new OutcomeUnknownException(id, "request " + id + " applied at log index " + answer.index()
            + ", but this client has reached only " + index() + "; ask `hive command status " + id + "`"));
        return state();
      }
      case REFUSED -> {
        HiveException refusal = Refusals.decode(answer.text());
        throw refusal != null ? refusal : new HiveException(answer.text());
      }
      case UNKNOWN -> throw new OutcomeUnknownException(id, answer.text());
      default -> throw new UnavailableException(answer.text());
    }
  }

  @Override
  public CommandStatus status(String requestId) {
    Answer answer = ask(AskKind.STATUS, requestId, new byte[0], clock.millis() + writeTimeout.toMillis(), taken.getOrDefault(requestId, 0L));
    return switch (answer.kind()) {
      case OK -> {
        String[] parts = answer.text().split("\\|", 2);
        yield new CommandStatus(requestId, CommandStatus.State.valueOf(parts[0]), answer.index(), parts.length > 1 ? parts[1] : "");
      }
      case NOT_FOUND -> throw new NotFoundException(answer.text());
      default -> throw new UnavailableException(answer.text());
    };
  }

  @Override
  public ClusterState currentState() {
    long deadline = clock.millis() + writeTimeout.toMillis();
    Answer answer = ask(AskKind.READ_INDEX, "", new byte[0], deadline, deadline);
    if (answer.kind() != FollowWire.AnswerKind.OK) {
      throw new UnavailableException(answer.text());
    }
    awaitIndex(answer.index(), deadline, () -> new UnavailableException("cannot read the current state: this client has reached log index "
        + index() + " of the leader's " + answer.index() + "; it is catching up"));
    return state();
  }

  /**
   * Asks a server, and another when one cannot be reached, until {@code deadline}: a write is
   * asked with its request id each time, so it applies at most once wherever it lands.
   * {@code deadlineOnTheWire} is what the question carries: a write's deadline, or for a status
   * the deadline of the write if this client took it.
   */
  private Answer ask(AskKind kind, String requestId, byte[] command, long deadline, long deadlineOnTheWire) {
    String why = "no server known yet";
    while (clock.millis() < deadline) {
      DiscoveredPeer target = pickServer();
      if (target == null) {
        sleep(100);
        continue;
      }
      String askId = UUID.randomUUID().toString();
      CompletableFuture<Answer> answer = new CompletableFuture<>();
      asks.put(askId, answer);
      try {
        transport.request(target, ChangeFeed.ASK, FollowWire.encode(new Ask(askId, kind, requestId, deadlineOnTheWire, command, host, port)), ChangeFeed.PUSH_TIMEOUT)
            .get(ChangeFeed.PUSH_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        why = "server " + target.nodeId() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
        forget(target);
        asks.remove(askId);
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        asks.remove(askId);
        break;
      }
      try {
        // The server answers by the write's own deadline; a second more for the answer to travel.
        return answer.get(Math.max(1, deadline - clock.millis()) + 1000, TimeUnit.MILLISECONDS);
      } catch (TimeoutException | ExecutionException e) {
        why = "server " + target.nodeId() + " took the question and sent no answer";
        break;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } finally {
        asks.remove(askId);
      }
    }
    if (kind == AskKind.WRITE) {
      throw new OutcomeUnknownException(requestId, "the outcome of request " + requestId + " is unknown: " + why + "; it may still apply until its"
          + " deadline, never after; ask `hive command status " + requestId + "` (GET /api/v1/commands/" + requestId + ")");
    }
    throw new UnavailableException("no server answered within " + writeTimeout.toSeconds() + " s: " + why);
  }

  private synchronized DiscoveredPeer pickServer() {
    List<DiscoveredPeer> known = servers.get();
    if (isServer(server, known)) {
      return server;
    }
    return known.isEmpty() ? null : known.get(Math.floorMod(nextServer, known.size()));
  }

  /** Leaves a server that cannot be reached: the next tick follows another. */
  private synchronized void forget(DiscoveredPeer target) {
    if (server != null && server.nodeId().equals(target.nodeId())) {
      server = null;
    }
    nextServer++;
  }

  private void awaitIndex(long target, long giveUp, Supplier<HiveException> failure) {
    synchronized (this) {
      while (index < target) {
        long left = giveUp - clock.millis();
        if (left <= 0) {
          throw failure.get();
        }
        try {
          wait(Math.min(left, 100));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw failure.get();
        }
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void onApplied(Consumer<ClusterState> listener) {
    listeners.add(listener);
  }

  @Override
  public void close() {
    asks.values().forEach(f -> f.completeExceptionally(new UnavailableException("this client closed")));
  }
}
