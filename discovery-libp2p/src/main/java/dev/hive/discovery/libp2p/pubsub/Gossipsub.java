package dev.hive.discovery.libp2p.pubsub;

import dev.hive.discovery.libp2p.host.Connection;
import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.host.PeerInfo;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.Varint;
import dev.hive.discovery.libp2p.wire.WireException;
import dev.hive.discovery.libp2p.wire.Yamux;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * gossipsub v1.1 ({@code /meshsub/1.1.0}; peers speaking 1.2 are served too, their IDONTWANT
 * ignored): a mesh of D peers per topic kept between D_lo and D_hi by a heartbeat, IHAVE/IWANT
 * gossip from a message cache, fanout for topics published but not joined, flood publishing,
 * StrictSign messages, a seen-cache, and a basic peer score (invalid messages cost, first
 * deliveries earn; negative peers are not grafted, pruned, and below the graylist ignored).
 */
public final class Gossipsub implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Gossipsub.class);
  public static final String MESHSUB_1_1 = "/meshsub/1.1.0";
  public static final String MESHSUB_1_2 = "/meshsub/1.2.0";
  static final int D = 6;
  static final int D_LO = 4;
  static final int D_HI = 12;
  static final int D_LAZY = 6;
  static final int HISTORY = 5;
  static final int GOSSIP_WINDOWS = 3;
  static final int MAX_RPC = 1024 * 1024;
  static final long PRUNE_BACKOFF_MS = 60_000;
  static final long FANOUT_TTL_MS = 60_000;
  static final long SEEN_TTL_MS = 120_000;
  static final double GOSSIP_THRESHOLD = -10;
  static final double PUBLISH_THRESHOLD = -50;
  static final double GRAYLIST_THRESHOLD = -80;

  /** Receives the messages of a joined topic (not this node's own). */
  @FunctionalInterface
  public interface Subscriber {
    void message(String topic, byte[] data, PeerId sender);
  }

  /** What this node keeps about one pubsub peer. */
  private final class Peer {
    final PeerId id;
    final Set<String> topics = ConcurrentHashMap.newKeySet();
    final ArrayDeque<byte[]> outbox = new ArrayDeque<>();
    final Object opening = new Object();
    Yamux.Stream out;
    boolean sending;
    double invalidMessages;
    double firstDeliveries;
    final Map<String, Long> backoffUntil = new ConcurrentHashMap<>();

    Peer(PeerId id) {
      this.id = id;
    }

    synchronized double score() {
      return Math.min(firstDeliveries, 10) - 10 * invalidMessages * invalidMessages;
    }
  }

  private final Host host;
  private final Map<PeerId, Peer> peers = new ConcurrentHashMap<>();
  private final Map<String, Subscriber> subscriptions = new ConcurrentHashMap<>();
  private final Map<String, Set<PeerId>> mesh = new ConcurrentHashMap<>();
  private final Map<String, Set<PeerId>> fanout = new ConcurrentHashMap<>();
  private final Map<String, Long> fanoutLastPublish = new ConcurrentHashMap<>();
  private final List<Map<ByteBuffer, PubsubMessage>> cacheWindows = new ArrayList<>();
  private final Map<ByteBuffer, PubsubMessage> cache = new ConcurrentHashMap<>();
  private final Map<ByteBuffer, Long> seen = Collections.synchronizedMap(new LinkedHashMap<>());
  /**
   * Signature checks by the digest of the copy's exact bytes: the mesh delivers each message from
   * several peers at nearly the same moment, before its first copy can be marked seen (fifty
   * discovery nodes: 24,646 copies reached the check, 22,183 checks ran). A forgery under a
   * real message's id has other bytes, so it is checked on its own.
   */
  private final SingleFlight verifications = new SingleFlight();
  private final AtomicLong seqno = new AtomicLong(System.currentTimeMillis() * 1000);
  private final Random random = new Random();
  private final ScheduledFuture<?> heartbeat;

  public Gossipsub(Host host, Duration heartbeatInterval) {
    this.host = host;
    for (int i = 0; i < HISTORY; i++) {
      cacheWindows.add(new ConcurrentHashMap<>());
    }
    host.handle(MESHSUB_1_1, this::serve);
    host.handle(MESHSUB_1_2, this::serve);
    host.addListener(new Host.Listener() {
      @Override
      public void identified(Connection connection, PeerInfo peer) {
        if (peer.protocols().contains(MESHSUB_1_1) || peer.protocols().contains(MESHSUB_1_2)) {
          host.executor().execute(() -> ensureOutbound(connection));
        }
      }

      @Override
      public void disconnected(Connection connection) {
        if (host.connection(connection.remotePeer()).isEmpty()) {
          Peer p = peers.remove(connection.remotePeer());
          if (p != null) {
            mesh.values().forEach(m -> m.remove(p.id));
            fanout.values().forEach(m -> m.remove(p.id));
          }
        }
      }
    });
    long every = heartbeatInterval.toMillis();
    this.heartbeat = host.timers().scheduleWithFixedDelay(() -> host.executor().execute(this::heartbeat), every, every, TimeUnit.MILLISECONDS);
  }

  /** Joins {@code topic}: its messages go to {@code subscriber}, and peers learn this node wants them. */
  public void subscribe(String topic, Subscriber subscriber) {
    if (subscriptions.put(topic, subscriber) == null) {
      Set<PeerId> m = ConcurrentHashMap.newKeySet();
      Set<PeerId> previous = fanout.remove(topic);
      if (previous != null) {
        m.addAll(previous);
      }
      mesh.put(topic, m);
      byte[] rpc = new ProtoWriter().message(1, new ProtoWriter().uint(1, 1).string(2, topic)).toByteArray();
      peers.values().forEach(p -> send(p, rpc));
      host.executor().execute(this::heartbeat);
    }
  }

  /** Leaves {@code topic}. */
  public void unsubscribe(String topic) {
    if (subscriptions.remove(topic) != null) {
      Set<PeerId> m = mesh.remove(topic);
      peers.values().forEach(p -> {
        ProtoWriter w = new ProtoWriter().message(1, new ProtoWriter().uint(1, 0).string(2, topic));
        if (m != null && m.contains(p.id)) {
          w.message(3, new ProtoWriter().message(4, new ProtoWriter().string(1, topic).uint(3, PRUNE_BACKOFF_MS / 1000)));
        }
        send(p, w.toByteArray());
      });
    }
  }

  /** Returns the peers known to have joined {@code topic}. */
  public Set<PeerId> topicPeers(String topic) {
    Set<PeerId> out = new HashSet<>();
    peers.values().forEach(p -> {
      if (p.topics.contains(topic)) {
        out.add(p.id);
      }
    });
    return out;
  }

  /** Returns this node's mesh peers for {@code topic}. */
  public Set<PeerId> meshPeers(String topic) {
    return Set.copyOf(mesh.getOrDefault(topic, Set.of()));
  }

  /** Returns a peer's score (0 for unknown peers). */
  public double score(PeerId peer) {
    Peer p = peers.get(peer);
    return p == null ? 0 : p.score();
  }

  /**
   * Signs and sends {@code data} on {@code topic} to every peer that joined it (flood publishing).
   *
   * @return how many peers it was sent to
   */
  public int publish(String topic, byte[] data) {
    PubsubMessage message = PubsubMessage.signed(host.keys(), topic, data, seqno.incrementAndGet());
    ByteBuffer id = message.id();
    markSeen(id);
    remember(id, message);
    byte[] rpc = new ProtoWriter().message(2, message.encode()).toByteArray();
    int sent = 0;
    for (Peer p : peers.values()) {
      if (p.topics.contains(topic) && p.score() >= PUBLISH_THRESHOLD) {
        send(p, rpc);
        sent++;
      }
    }
    if (!subscriptions.containsKey(topic)) {
      fanoutLastPublish.put(topic, System.currentTimeMillis());
      fanout.computeIfAbsent(topic, t -> ConcurrentHashMap.newKeySet());
    }
    return sent;
  }

  // ---- streams

  private Peer peer(PeerId id) {
    return peers.computeIfAbsent(id, Peer::new);
  }

  private void ensureOutbound(Connection connection) {
    Peer p = peer(connection.remotePeer());
    // One outbound stream per peer: js replaces its inbound stream from a peer when a second one
    // arrives, so two racing opens would leave it with the one this side then closes.
    synchronized (p.opening) {
      synchronized (p) {
        if (p.out != null) {
          return;
        }
      }
      try {
        Yamux.Stream stream = connection.newStream(List.of(MESHSUB_1_1, MESHSUB_1_2)).stream();
        ProtoWriter hello = new ProtoWriter();
        subscriptions.keySet().forEach(t -> hello.message(1, new ProtoWriter().uint(1, 1).string(2, t)));
        synchronized (p) {
          p.out = stream;
        }
        send(p, hello.toByteArray());
        connection.closed().whenComplete((v, e) -> {
          synchronized (p) {
            if (p.out == stream) {
              p.out = null;
            }
          }
        });
      } catch (IOException e) {
        log.debug("cannot open a pubsub stream to {}: {}", connection.remotePeer(), e.getMessage());
      }
    }
  }

  private void serve(Connection connection, Yamux.Stream stream) throws IOException {
    Peer p = peer(connection.remotePeer());
    host.executor().execute(() -> ensureOutbound(connection));
    byte[] raw;
    while ((raw = Varint.readPrefixed(stream.in(), MAX_RPC)) != null) {
      if (p.score() < GRAYLIST_THRESHOLD) {
        continue;
      }
      rpc(p, raw);
    }
  }

  /** Queues an RPC for a peer; one task at a time drains its queue, so a slow peer delays only itself. */
  private void send(Peer p, byte[] rpc) {
    if (rpc.length == 0) {
      return;
    }
    synchronized (p) {
      if (p.outbox.size() > 1000) {
        return;
      }
      p.outbox.add(rpc);
      if (p.sending || p.out == null) {
        return;
      }
      p.sending = true;
    }
    host.executor().execute(() -> drain(p));
  }

  private void drain(Peer p) {
    while (true) {
      byte[] next;
      Yamux.Stream out;
      synchronized (p) {
        next = p.outbox.poll();
        out = p.out;
        if (next == null || out == null) {
          p.sending = false;
          return;
        }
      }
      try {
        Varint.writePrefixed(out.out(), next);
      } catch (IOException e) {
        synchronized (p) {
          p.outbox.clear();
          p.sending = false;
          if (p.out == out) {
            p.out = null;
          }
        }
        return;
      }
    }
  }

  // ---- RPC processing

  private void rpc(Peer from, byte[] raw) throws WireException {
    ProtoReader r = new ProtoReader(raw);
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> subscription(from, r.message());
        case 2 -> message(from, PubsubMessage.decode(r.message()));
        case 3 -> control(from, r.message());
        default -> r.skip();
      }
    }
  }

  private void subscription(Peer from, ProtoReader r) throws WireException {
    boolean subscribe = false;
    String topic = null;
    for (int f; (f = r.next()) > 0; ) {
      if (f == 1) {
        subscribe = r.uint() != 0;
      } else if (f == 2) {
        topic = r.string();
      } else {
        r.skip();
      }
    }
    if (topic == null) {
      return;
    }
    if (subscribe) {
      if (from.topics.size() < 1000) {
        from.topics.add(topic);
      }
    } else {
      from.topics.remove(topic);
      Set<PeerId> m = mesh.get(topic);
      if (m != null) {
        m.remove(from.id);
      }
    }
  }

  private void message(Peer from, PubsubMessage message) {
    // A message arrives from up to D mesh peers: a copy of one already seen is dropped unchecked,
    // and copies arriving meanwhile share one check (verifications). Only a verified copy is marked
    // seen, so a forgery sent first cannot shadow the real one.
    if (message.from() != null && message.seqno() != null) {
      synchronized (seen) {
        if (seen.containsKey(message.id())) {
          return;
        }
      }
    }
    ByteBuffer copy = ByteBuffer.wrap(PeerId.sha256(message.encode().toByteArray()));
    String invalid = verifications.run(copy, () -> {
      try {
        message.verify();
        return null;
      } catch (WireException e) {
        return e.getMessage();
      }
    });
    if (invalid != null) {
      synchronized (from) {
        from.invalidMessages++;
      }
      log.debug("invalid message from {}: {}", from.id, invalid);
      return;
    }
    ByteBuffer id = message.id();
    boolean first = markSeen(id);
    verifications.forget(copy);
    if (!first) {
      return;
    }
    synchronized (from) {
      from.firstDeliveries++;
    }
    remember(id, message);
    Subscriber subscriber = subscriptions.get(message.topic());
    PeerId sender;
    try {
      sender = message.sender();
    } catch (WireException e) {
      return;
    }
    if (subscriber != null && !sender.equals(host.peerId())) {
      try {
        subscriber.message(message.topic(), message.data() == null ? new byte[0] : message.data(), sender);
      } catch (RuntimeException e) {
        log.warn("subscriber of {} failed: {}", message.topic(), e.toString());
      }
    }
    Set<PeerId> targets = mesh.get(message.topic());
    if (targets != null) {
      byte[] rpc = new ProtoWriter().message(2, message.encode()).toByteArray();
      for (PeerId t : targets) {
        Peer p = peers.get(t);
        if (p != null && !t.equals(from.id) && !t.equals(sender)) {
          send(p, rpc);
        }
      }
    }
  }

  private void control(Peer from, ProtoReader r) throws WireException {
    ProtoWriter reply = new ProtoWriter();
    boolean any = false;
    List<byte[]> wanted = new ArrayList<>();
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> { // IHAVE
          ProtoReader ihave = r.message();
          for (int g; (g = ihave.next()) > 0; ) {
            if (g == 2) {
              byte[] id = ihave.bytes();
              if (from.score() >= GOSSIP_THRESHOLD && !seen.containsKey(ByteBuffer.wrap(id)) && wanted.size() < 500) {
                wanted.add(id);
              }
            } else {
              ihave.skip();
            }
          }
        }
        case 2 -> { // IWANT
          ProtoReader iwant = r.message();
          ProtoWriter messages = new ProtoWriter();
          boolean found = false;
          for (int g; (g = iwant.next()) > 0; ) {
            if (g == 1) {
              PubsubMessage m = cache.get(ByteBuffer.wrap(iwant.bytes()));
              if (m != null) {
                messages.message(2, m.encode());
                found = true;
              }
            } else {
              iwant.skip();
            }
          }
          if (found && from.score() >= GOSSIP_THRESHOLD) {
            send(from, messages.toByteArray());
          }
        }
        case 3 -> { // GRAFT
          String topic = topicOf(r.message());
          Set<PeerId> m = topic == null ? null : mesh.get(topic);
          Long backoff = topic == null ? null : from.backoffUntil.get(topic);
          if (m != null && from.score() >= 0 && (backoff == null || backoff < System.currentTimeMillis())) {
            m.add(from.id);
          } else if (topic != null) {
            reply.message(4, new ProtoWriter().string(1, topic).uint(3, PRUNE_BACKOFF_MS / 1000));
            any = true;
          }
        }
        case 4 -> { // PRUNE
          ProtoReader prune = r.message();
          String topic = null;
          long backoffSeconds = PRUNE_BACKOFF_MS / 1000;
          for (int g; (g = prune.next()) > 0; ) {
            if (g == 1) {
              topic = prune.string();
            } else if (g == 3) {
              backoffSeconds = Math.min(prune.uint(), 3600);
            } else {
              prune.skip();
            }
          }
          if (topic != null) {
            Set<PeerId> m = mesh.get(topic);
            if (m != null) {
              m.remove(from.id);
            }
            from.backoffUntil.put(topic, System.currentTimeMillis() + backoffSeconds * 1000);
          }
        }
        default -> r.skip();
      }
    }
    if (!wanted.isEmpty()) {
      ProtoWriter iwant = new ProtoWriter();
      wanted.forEach(id -> iwant.bytes(1, id));
      reply.message(2, iwant);
      any = true;
    }
    if (any) {
      send(from, new ProtoWriter().message(3, reply).toByteArray());
    }
  }

  private static String topicOf(ProtoReader r) throws WireException {
    String topic = null;
    for (int f; (f = r.next()) > 0; ) {
      if (f == 1) {
        topic = r.string();
      } else {
        r.skip();
      }
    }
    return topic;
  }

  private boolean markSeen(ByteBuffer id) {
    synchronized (seen) {
      return seen.putIfAbsent(id, System.currentTimeMillis()) == null;
    }
  }

  private void remember(ByteBuffer id, PubsubMessage message) {
    cache.put(id, message);
    cacheWindows.get(0).put(id, message);
  }

  // ---- heartbeat

  private synchronized void heartbeat() {
    long now = System.currentTimeMillis();
    Map<Peer, ProtoWriter> controls = new HashMap<>();
    for (Map.Entry<String, Set<PeerId>> e : mesh.entrySet()) {
      String topic = e.getKey();
      Set<PeerId> m = e.getValue();
      m.removeIf(id -> {
        Peer p = peers.get(id);
        return p == null || !p.topics.contains(topic) || p.score() < 0;
      });
      if (m.size() < D_LO) {
        List<Peer> candidates = new ArrayList<>();
        for (Peer p : peers.values()) {
          Long backoff = p.backoffUntil.get(topic);
          if (p.topics.contains(topic) && !m.contains(p.id) && p.score() >= 0 && p.out != null && (backoff == null || backoff < now)) {
            candidates.add(p);
          }
        }
        Collections.shuffle(candidates, random);
        for (Peer p : candidates.subList(0, Math.min(candidates.size(), D - m.size()))) {
          m.add(p.id);
          controls.computeIfAbsent(p, x -> new ProtoWriter()).message(3, new ProtoWriter().string(1, topic));
        }
      } else if (m.size() > D_HI) {
        List<PeerId> members = new ArrayList<>(m);
        Collections.shuffle(members, random);
        for (PeerId id : members.subList(D, members.size())) {
          m.remove(id);
          Peer p = peers.get(id);
          if (p != null) {
            p.backoffUntil.put(topic, now + PRUNE_BACKOFF_MS);
            controls.computeIfAbsent(p, x -> new ProtoWriter()).message(4, new ProtoWriter().string(1, topic).uint(3, PRUNE_BACKOFF_MS / 1000));
          }
        }
      }
    }
    fanoutLastPublish.entrySet().removeIf(e -> {
      if (now - e.getValue() > FANOUT_TTL_MS) {
        fanout.remove(e.getKey());
        return true;
      }
      return false;
    });
    for (Map.Entry<String, Set<PeerId>> e : fanout.entrySet()) {
      Set<PeerId> f = e.getValue();
      f.removeIf(id -> !peers.containsKey(id) || !peers.get(id).topics.contains(e.getKey()));
      for (Peer p : peers.values()) {
        if (f.size() >= D) {
          break;
        }
        if (p.topics.contains(e.getKey()) && p.score() >= PUBLISH_THRESHOLD) {
          f.add(p.id);
        }
      }
    }
    gossip(controls);
    controls.forEach((p, w) -> send(p, new ProtoWriter().message(3, w).toByteArray()));
    // Shift the message cache, forget old seen ids, let scores decay.
    Map<ByteBuffer, PubsubMessage> oldest = cacheWindows.remove(cacheWindows.size() - 1);
    oldest.keySet().forEach(cache::remove);
    cacheWindows.add(0, new ConcurrentHashMap<>());
    synchronized (seen) {
      seen.values().removeIf(t -> now - t > SEEN_TTL_MS);
    }
    for (Peer p : peers.values()) {
      synchronized (p) {
        p.invalidMessages *= 0.9;
        p.firstDeliveries *= 0.9;
      }
      p.backoffUntil.values().removeIf(t -> t < now);
    }
  }

  private void gossip(Map<Peer, ProtoWriter> controls) {
    Set<String> topics = new HashSet<>(mesh.keySet());
    topics.addAll(fanout.keySet());
    for (String topic : topics) {
      List<byte[]> ids = new ArrayList<>();
      for (int i = 0; i < GOSSIP_WINDOWS && i < cacheWindows.size(); i++) {
        cacheWindows.get(i).forEach((id, m) -> {
          if (topic.equals(m.topic()) && ids.size() < 5000) {
            ids.add(id.array());
          }
        });
      }
      if (ids.isEmpty()) {
        continue;
      }
      Set<PeerId> exclude = new HashSet<>(mesh.getOrDefault(topic, Set.of()));
      exclude.addAll(fanout.getOrDefault(topic, Set.of()));
      List<Peer> candidates = new ArrayList<>();
      for (Peer p : peers.values()) {
        if (p.topics.contains(topic) && !exclude.contains(p.id) && p.score() >= GOSSIP_THRESHOLD) {
          candidates.add(p);
        }
      }
      Collections.shuffle(candidates, random);
      for (Peer p : candidates.subList(0, Math.min(D_LAZY, candidates.size()))) {
        ProtoWriter ihave = new ProtoWriter().string(1, topic);
        ids.forEach(id -> ihave.bytes(2, id));
        controls.computeIfAbsent(p, x -> new ProtoWriter()).message(1, ihave);
      }
    }
  }

  @Override
  public void close() {
    heartbeat.cancel(false);
  }
}
