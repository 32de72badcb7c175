package dev.hive.core.follow;

import dev.hive.api.CommandStatus;
import dev.hive.api.HiveException;
import dev.hive.api.NotFoundException;
import dev.hive.api.OutcomeUnknownException;
import dev.hive.api.UnavailableException;
import dev.hive.core.consensus.CommittedChanges;
import dev.hive.core.consensus.RaftCommandLog;
import dev.hive.core.follow.FollowWire.Answer;
import dev.hive.core.follow.FollowWire.AnswerKind;
import dev.hive.core.follow.FollowWire.Ask;
import dev.hive.core.follow.FollowWire.Change;
import dev.hive.core.follow.FollowWire.Subscribe;
import dev.hive.core.follow.FollowWire.Update;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.Command;
import dev.hive.core.state.Refusals;
import dev.hive.core.state.Request;
import dev.hive.core.state.StateCodec;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server's side of following: it keeps the last {@value #RETAINED} changes of its applied log,
 * answers a client that subscribes from an index with the changes after it (or a snapshot, when
 * they are no longer kept), and then pushes each client what it has not had yet, one update in
 * flight per client, and an empty update every {@link #HEARTBEAT} so that a client knows its
 * server is alive and what leader it knows. Clients' writes, current reads and status questions
 * are taken at once and answered later ({@value #ANSWER}): no transport thread waits on consensus.
 *
 * <p>A feed pushes to at most {@link #capacity(int) so many} followers. Past that it answers a
 * subscription with a redirect to some of its followers, each of which relays the feed from its
 * own copy ({@link FollowedLog}): the followers form a tree whose depth grows with the logarithm
 * of their number, so that a change reaches 100,000 clients in a few relay hops instead of
 * 33,000 pushes from each server.
 */
public final class ChangeFeed implements CommittedChanges {
  /** Every topic of following starts with this. */
  public static final String TOPICS = "hive.follow.";
  static final String SUBSCRIBE = "hive.follow.subscribe";
  static final String ASK = "hive.follow.ask";
  static final String PUSH = "hive.follow.push";
  static final String ANSWER = "hive.follow.answer";
  /** Changes kept for clients that reconnect; one further behind gets a snapshot. */
  static final int RETAINED = 4096;
  /** Most changes in one update; a client further behind gets the rest in the next. */
  static final int MAX_CHANGES_PER_UPDATE = 1024;
  static final Duration HEARTBEAT = Duration.ofSeconds(1);
  static final Duration PUSH_TIMEOUT = Duration.ofSeconds(5);
  /** A client acknowledges with this to say it follows another server now. */
  static final long UNSUBSCRIBE = -2;
  /**
   * Followers a server feeds itself: up to 1,536 clients on three servers follow a server
   * directly, as they did before relays; past that, clients relay to each other.
   */
  public static final int SERVER_FOLLOWERS = 512;
  /** Relays named in one redirect. */
  static final int REDIRECT_TO = 4;

  private static final Logger log = LoggerFactory.getLogger(ChangeFeed.class);

  /** What a server's consensus offers its clients: a Raft server's log, or a simulation's. */
  public interface Consensus {
    /**
     * Completes with the log index the write applied at on this server, or with its refusal or
     * unknown outcome; it never applies once the log's head is past {@code deadlineMillis}.
     */
    CompletableFuture<Long> submitAsync(Command command, String requestId, long deadlineMillis);

    /** Completes with the leader's read index once this server has applied it. */
    CompletableFuture<Long> readIndexAsync();

    /**
     * Returns what became of a write; may wait to settle it.
     *
     * @param deadlineWhereTaken the write's deadline when the asking client took it, else 0: a
     *     write a client took while cut off from every server reached none of them, and only its
     *     deadline lets a server settle it
     */
    CommandStatus status(String requestId, long deadlineWhereTaken);

    /** Returns the leader this server knows, or null. */
    String leaderId();

    /** Tells {@code listener} the state now, then every applied entry. */
    void follow(CommittedChanges listener);

    /** Returns how many relays stand between this feed and a server: 0 on a server. */
    default int hops() {
      return 0;
    }

    /** A Raft server's consensus. */
    static Consensus of(RaftCommandLog raft) {
      return new Consensus() {
        @Override
        public CompletableFuture<Long> submitAsync(Command command, String requestId, long deadlineMillis) {
          return raft.submitAsync(command, requestId, deadlineMillis);
        }

        @Override
        public CompletableFuture<Long> readIndexAsync() {
          return raft.readIndexAsync();
        }

        @Override
        public CommandStatus status(String requestId, long deadlineWhereTaken) {
          return raft.status(requestId, deadlineWhereTaken);
        }

        @Override
        public String leaderId() {
          try {
            return raft.leaderId();
          } catch (RuntimeException e) {
            return null;
          }
        }

        @Override
        public void follow(CommittedChanges listener) {
          raft.follow(listener);
        }
      };
    }
  }

  private static final class Subscriber {
    final String id;
    final DiscoveredPeer peer;
    long sent;
    boolean inFlight;
    long lastPushMillis;

    Subscriber(String id, DiscoveredPeer peer, long sent) {
      this.id = id;
      this.peer = peer;
      this.sent = sent;
    }
  }

  private final Transport transport;
  private final Consensus consensus;
  private final Clock clock;
  private final Executor pushes;
  private final Executor blocking;
  private final StateCodec codec = new StateCodec();

  // Guarded by this.
  private final ArrayDeque<Change> retained = new ArrayDeque<>();
  private long base;
  private long last;
  private ClusterState state = ClusterState.EMPTY;
  private byte[] snapshot;
  private long snapshotIndex = -1;
  private final Map<Long, byte[]> updatesToLast = new HashMap<>();
  private String encodedLeader = "";
  private int encodedHops;
  private final Map<String, Subscriber> subscribers = new HashMap<>();
  private boolean sendScheduled;
  private long pushesSent;
  private long bytesPushed;
  private int capacity = SERVER_FOLLOWERS;
  private final java.util.Random random = new java.util.Random(1);

  /**
   * @param pushes runs the sending of updates, one task at a time (a single thread, or the
   *     caller's thread in a simulation)
   * @param blocking runs status questions, which may wait to settle a write
   */
  public ChangeFeed(Transport transport, Consensus consensus, Clock clock, Executor pushes, Executor blocking) {
    this.transport = transport;
    this.consensus = consensus;
    this.clock = clock;
    this.pushes = pushes;
    this.blocking = blocking;
  }

  /**
   * Sets how many followers this feed pushes to itself; a subscription past that is redirected
   * to some of them. Call it before {@link #start()}.
   *
   * @throws IllegalArgumentException if {@code followers} is below 1
   */
  public ChangeFeed capacity(int followers) {
    if (followers < 1) {
      throw new IllegalArgumentException("a feed needs room for at least 1 follower, not " + followers);
    }
    this.capacity = followers;
    return this;
  }

  /** Starts hearing the applied log. */
  public ChangeFeed start() {
    consensus.follow(this);
    return this;
  }

  @Override
  public synchronized void reset(long index, ClusterState state) {
    retained.clear();
    updatesToLast.clear();
    base = index;
    last = index;
    this.state = state;
    scheduleSend();
  }

  @Override
  public synchronized void committed(long index, List<Command> applied, ClusterState after) {
    if (!applied.isEmpty()) {
      List<Request> requests = applied.stream().map(c -> new Request(null, Long.MAX_VALUE, 0, "", c)).toList();
      retain(new Change(index, codec.encodeRequests(requests)));
    }
    advance(index, after);
  }

  /** A relay's copy took {@code change} from upstream: passed on as it came, not encoded again. */
  synchronized void relayed(Change change, ClusterState after) {
    retain(change);
    advance(change.index(), after);
  }

  /** Guarded by this. */
  private void retain(Change change) {
    retained.addLast(change);
    while (retained.size() > RETAINED) {
      base = retained.removeFirst().index();
    }
  }

  /** Guarded by this. */
  private void advance(long index, ClusterState after) {
    updatesToLast.clear();
    last = index;
    state = after;
    scheduleSend();
  }

  /** Returns how many clients follow this server. */
  public synchronized int subscribers() {
    return subscribers.size();
  }

  /** Returns how many updates this server has pushed, and how many bytes they held. */
  public synchronized long[] pushed() {
    return new long[] {pushesSent, bytesPushed};
  }

  /** Sends heartbeats that are due; call it a few times a {@link #HEARTBEAT}. */
  public void tick() {
    synchronized (this) {
      if (sendScheduled) {
        return;
      }
      sendScheduled = true;
    }
    pushes.execute(this::sendDue);
  }

  /** Answers a client's subscription or question. */
  public byte[] handle(String from, String topic, byte[] payload) {
    if (topic.equals(SUBSCRIBE)) {
      Subscribe s = FollowWire.decodeSubscribe(payload);
      String leader = leader();
      int hops = consensus.hops();
      byte[] update;
      synchronized (this) {
        if (subscribers.size() >= capacity && !subscribers.containsKey(from)) {
          return FollowWire.encode(Update.redirect(Math.max(0, s.from()), leader, hops, relaysFor(from)));
        }
        Update u = updateFrom(s.from(), leader, hops);
        Subscriber subscriber = new Subscriber(from, new DiscoveredPeer(from, s.host(), s.port()), u.index());
        subscriber.lastPushMillis = clock.millis();
        subscribers.put(from, subscriber);
        update = FollowWire.encode(u);
      }
      return update;
    }
    if (topic.equals(ASK)) {
      Ask ask = FollowWire.decodeAsk(payload);
      DiscoveredPeer client = new DiscoveredPeer(from, ask.host(), ask.port());
      switch (ask.kind()) {
        case WRITE -> {
          Command command = codec.decodeCommand(ask.command());
          consensus.submitAsync(command, ask.requestId(), ask.deadlineMillis()).whenComplete((index, error) -> answer(client, ask.id(), index, error));
        }
        case READ_INDEX -> consensus.readIndexAsync().whenComplete((index, error) -> answer(client, ask.id(), index, error));
        case STATUS -> blocking.execute(() -> {
          Answer a;
          try {
            CommandStatus s = consensus.status(ask.requestId(), ask.deadlineMillis());
            a = new Answer(ask.id(), AnswerKind.OK, s.logIndex(), s.state().name() + "|" + s.reason());
          } catch (NotFoundException e) {
            a = new Answer(ask.id(), AnswerKind.NOT_FOUND, 0, e.getMessage());
          } catch (HiveException e) {
            a = new Answer(ask.id(), AnswerKind.UNAVAILABLE, 0, e.getMessage());
          }
          send(client, a);
        });
        default -> throw new HiveException("unknown question " + ask.kind());
      }
      return FollowWire.encodeIndex(0);
    }
    throw new HiveException("no follow topic " + topic + "; this server takes " + SUBSCRIBE + " and " + ASK);
  }

  private void answer(DiscoveredPeer client, String askId, Long index, Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    Answer a;
    if (cause == null) {
      a = new Answer(askId, AnswerKind.OK, index, "");
    } else if (cause instanceof OutcomeUnknownException) {
      a = new Answer(askId, AnswerKind.UNKNOWN, 0, cause.getMessage());
    } else if (cause instanceof UnavailableException) {
      a = new Answer(askId, AnswerKind.UNAVAILABLE, 0, cause.getMessage());
    } else if (cause instanceof HiveException refusal) {
      a = new Answer(askId, AnswerKind.REFUSED, 0, Refusals.encode(refusal));
    } else {
      a = new Answer(askId, AnswerKind.UNKNOWN, 0, "the server failed: " + cause);
    }
    send(client, a);
  }

  private void send(DiscoveredPeer client, Answer a) {
    transport.request(client, ANSWER, FollowWire.encode(a), PUSH_TIMEOUT).exceptionally(e -> {
      // The client hears nothing and reports the outcome unknown; the request id settles it.
      log.debug("cannot answer {}: {}", client.nodeId(), e.getMessage());
      return null;
    });
  }

  /** Asked outside this feed's lock: the log calls into the feed under its own. */
  private String leader() {
    String leader = consensus.leaderId();
    return leader == null ? "" : leader;
  }

  /** Some followers other than {@code asker}, for it to subscribe to instead. Guarded by this. */
  private List<DiscoveredPeer> relaysFor(String asker) {
    List<DiscoveredPeer> others = new ArrayList<>(subscribers.size());
    for (Subscriber s : subscribers.values()) {
      if (!s.id.equals(asker)) {
        others.add(s.peer);
      }
    }
    java.util.Collections.shuffle(others, random);
    return others.subList(0, Math.min(REDIRECT_TO, others.size()));
  }

  /** The update that brings a client at {@code from} to this server's last index. Guarded by this. */
  private Update updateFrom(long from, String leader, int hops) {
    if (from > last) {
      // This server trails the client (it followed another): nothing to send until it catches up.
      return new Update(from, from, leader, hops, List.of(), null, List.of());
    }
    if (from < base) {
      if (snapshotIndex != last) {
        snapshot = codec.encode(state);
        snapshotIndex = last;
      }
      return new Update(-1, last, leader, hops, List.of(), snapshot, List.of());
    }
    List<Change> changes = new ArrayList<>();
    long to = last;
    for (java.util.Iterator<Change> it = retained.descendingIterator(); it.hasNext(); ) {
      Change c = it.next();
      if (c.index() <= from) {
        break;
      }
      changes.add(c);
    }
    java.util.Collections.reverse(changes);
    if (changes.size() > MAX_CHANGES_PER_UPDATE) {
      changes = changes.subList(0, MAX_CHANGES_PER_UPDATE);
      to = changes.get(changes.size() - 1).index();
    }
    return new Update(from, to, leader, hops, List.copyOf(changes), null, List.of());
  }

  private synchronized void scheduleSend() {
    if (!sendScheduled) {
      sendScheduled = true;
      pushes.execute(this::sendDue);
    }
  }

  /** Pushes each client that is behind (or has heard nothing for a heartbeat) its next update. */
  private void sendDue() {
    List<Runnable> sends = new ArrayList<>();
    String leader = leader();
    int hops = consensus.hops();
    synchronized (this) {
      sendScheduled = false;
      long now = clock.millis();
      if (!leader.equals(encodedLeader) || hops != encodedHops) {
        // The cached updates name the leader and hops they were encoded with.
        updatesToLast.clear();
        encodedLeader = leader;
        encodedHops = hops;
      }
      for (Subscriber s : subscribers.values()) {
        if (s.inFlight || (s.sent >= last && now - s.lastPushMillis < HEARTBEAT.toMillis())) {
          continue;
        }
        Update u = updateFrom(s.sent, leader, hops);
        // Clients at the same index get the same bytes: encoded once per index and change.
        byte[] bytes = u.index() == last && !u.isSnapshot() ? updatesToLast.computeIfAbsent(s.sent, k -> FollowWire.encode(u)) : FollowWire.encode(u);
        s.inFlight = true;
        s.lastPushMillis = now;
        pushesSent++;
        bytesPushed += bytes.length;
        sends.add(() -> push(s, bytes));
      }
    }
    sends.forEach(Runnable::run);
  }

  private void push(Subscriber s, byte[] update) {
    transport.request(s.peer, PUSH, update, PUSH_TIMEOUT).whenComplete((ack, error) -> {
      boolean behind;
      synchronized (this) {
        s.inFlight = false;
        long at = error == null ? decodeAck(ack) : UNSUBSCRIBE;
        if (at == UNSUBSCRIBE) {
          // Gone, or following another server: it subscribes again when it wants this one.
          subscribers.remove(s.id, s);
          if (error != null) {
            log.debug("client {} dropped: {}", s.id, error.getMessage());
          }
          return;
        }
        s.sent = at;
        behind = s.sent < last;
      }
      if (behind) {
        scheduleSend();
      }
    });
  }

  private static long decodeAck(byte[] ack) {
    try {
      return FollowWire.decodeIndex(ack);
    } catch (HiveException e) {
      return UNSUBSCRIBE;
    }
  }
}
