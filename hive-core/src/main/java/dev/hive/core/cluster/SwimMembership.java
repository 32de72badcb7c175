package dev.hive.core.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
import dev.hive.api.NodeState;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A SWIM failure detector with infection-style dissemination (Das, Gupta, Motivala 2002, with
 * memberlist's push-pull sync). Every protocol period a node probes one member, round robin over
 * a shuffled list; if no ack comes within the probe timeout it asks {@code k} others to probe it;
 * if none succeeds by the end of the period the member is SUSPECT, and DEAD when the suspicion
 * times out unless the member refutes it with a higher incarnation. News rides on pings and acks,
 * a bounded number per message, each retransmitted {@code λ·log2(N+1)} times: so a node sends a
 * constant number of messages per period whatever the cluster size.
 *
 * <p>Time comes from the injected clock and {@link #tick()} is driven from outside, so the
 * detector runs in virtual time in tests and simulations.
 */
public final class SwimMembership {
  /** Topics this detector answers; the node's dispatcher routes {@code swim.*} here. */
  public static final String PING = "swim.ping";
  public static final String PING_REQ = "swim.ping-req";
  public static final String SYNC = "swim.sync";
  /** Seeds synced with at random each interval while this node knows no live member. */
  static final int RETRIED_SEEDS = 2;

  /**
   * Tunables; {@link #DEFAULTS} detect a dead node in a small cluster in about 2 s (FailoverHarness
   * measures it).
   *
   * @param maxHealthScore how far a node that finds itself slow stretches its probe period and
   *     timeouts: up to {@code maxHealthScore + 1} times (Lifeguard's local health awareness, as in
   *     memberlist, whose default is 8); 0 turns it off
   */
  public record Settings(
      Duration protocolPeriod, Duration probeTimeout, int indirectProbes, Duration minSuspicion, double suspicionMultiplier,
      int retransmitMultiplier, int maxPiggyback, Duration syncInterval, Duration relayWait, int maxHealthScore) {
    public static final Settings DEFAULTS =
        new Settings(Duration.ofMillis(400), Duration.ofMillis(150), 3, Duration.ofMillis(1000), 4.0, 3, 8, Duration.ofSeconds(5), Duration.ofMillis(250), 8);

    /** The same settings for a virtual-time network, where an unanswered request never completes. */
    public Settings forVirtualTime() {
      return new Settings(protocolPeriod, probeTimeout, indirectProbes, minSuspicion, suspicionMultiplier, retransmitMultiplier, maxPiggyback, syncInterval,
          Duration.ZERO, maxHealthScore);
    }

    /** The same settings with local health awareness set to {@code max} (0: off). */
    public Settings withMaxHealthScore(int max) {
      return new Settings(protocolPeriod, probeTimeout, indirectProbes, minSuspicion, suspicionMultiplier, retransmitMultiplier, maxPiggyback, syncInterval,
          relayWait, max);
    }
  }

  /** Told of every change of a member's state or address. Called without the detector's lock. */
  public interface Listener {
    void changed(Member before, Member after);
  }

  private final String selfId;
  private final Transport transport;
  private final Clock clock;
  private final Settings settings;
  private final Random random;
  private final Listener listener;
  private final ObjectMapper json = new ObjectMapper();

  private final Map<String, Member> members = new LinkedHashMap<>();
  private final Map<String, Long> suspectedAt = new HashMap<>();
  private final Map<String, Broadcast> broadcasts = new LinkedHashMap<>();
  private final List<String> probeOrder = new ArrayList<>();
  private final List<DiscoveredPeer> seeds = new ArrayList<>();
  /** Seeds not synced with yet: each is tried once at the next sync, then at random. */
  private final List<DiscoveredPeer> untriedSeeds = new ArrayList<>();
  private final AtomicLong seq = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private int probeIndex;
  /**
   * Lifeguard's local health score: it grows when this node's own probes fail in ways that point
   * at this node (helpers that do not even answer, a suspicion of itself to refute) and shrinks
   * with each probe answered. An overloaded node thus probes less often and waits longer before
   * it accuses anyone, instead of flooding a healthy cluster with false suspicions.
   */
  private int health;
  private Probe probe;
  private long nextProbeAt;
  private long nextSyncAt;
  private boolean leaving;

  private static final class Broadcast {
    final Member update;
    int transmits;

    Broadcast(Member update) {
      this.update = update;
    }
  }

  /** One probe in flight: the direct ping, then the indirect ones. */
  private static final class Probe {
    final Member target;
    final long startedAt;
    final CompletableFuture<byte[]> direct;
    final List<CompletableFuture<byte[]>> indirect = new ArrayList<>();
    boolean indirectSent;

    Probe(Member target, long startedAt, CompletableFuture<byte[]> direct) {
      this.target = target;
      this.startedAt = startedAt;
      this.direct = direct;
    }

    boolean acked() {
      if (succeeded(direct)) {
        return true;
      }
      for (CompletableFuture<byte[]> f : indirect) {
        if (succeeded(f)) {
          return true;
        }
      }
      return false;
    }

    private static boolean succeeded(CompletableFuture<byte[]> f) {
      return f.isDone() && !f.isCompletedExceptionally() && !f.isCancelled();
    }
  }

  public SwimMembership(
      Member self, Transport transport, Clock clock, Settings settings, Random random, Listener listener) {
    this.selfId = self.id();
    this.transport = transport;
    this.clock = clock;
    this.settings = settings;
    this.random = random;
    this.listener = listener;
    long now = clock.millis();
    Member me = new Member(self.id(), self.host(), self.port(), self.incarnation(), NodeState.ALIVE, now, now, self.meta());
    members.put(selfId, me);
    broadcasts.put(selfId, new Broadcast(me));
    nextProbeAt = now;
    nextSyncAt = now;
  }

  /** Returns the handler for {@code swim.*} topics. */
  public Transport.Handler handler() {
    return this::handle;
  }

  /**
   * Adds addresses to sync with until this node has heard of others (a seed list, a discovery).
   * Syncs at once only for a peer that is not a member yet: a discovery reports every member it
   * hears, and a full sync for each one cost 50 nodes 2,450 syncs of the whole list.
   */
  public synchronized void addSeeds(List<DiscoveredPeer> peers) {
    boolean news = false;
    for (DiscoveredPeer p : peers) {
      if (p.nodeId().equals(selfId)) {
        continue;
      }
      if (!seeds.contains(p)) {
        seeds.add(p);
        untriedSeeds.add(p);
      }
      Member known = members.get(p.nodeId());
      news |= known == null || known.state() == NodeState.DEAD || known.state() == NodeState.LEFT;
    }
    if (news) {
      nextSyncAt = clock.millis();
    }
  }

  /** Returns every member this node knows, itself included, by id. */
  public synchronized List<Member> members() {
    List<Member> all = new ArrayList<>(members.values());
    all.sort(Comparator.comparing(Member::id));
    return all;
  }

  /** Returns the state this node holds {@code memberId} in, or null when it does not know it. */
  public synchronized NodeState stateOf(String memberId) {
    Member m = members.get(memberId);
    return m == null ? null : m.state();
  }

  /** Returns this node's own record. */
  public synchronized Member self() {
    return members.get(selfId);
  }

  /** Teaches this node members directly, as if it had synced with them (simulations start this way). */
  public void learn(List<Member> known) {
    List<Member[]> changes = new ArrayList<>();
    synchronized (this) {
      long now = clock.millis();
      for (Member m : known) {
        if (!m.id().equals(selfId) && !members.containsKey(m.id())) {
          // Records are immutable: one already stamped now is shared, not copied (10,000 simulated nodes hold 10^8 entries).
          members.put(m.id(), m.stateSinceMillis() == now && m.lastSeenMillis() == 0 ? m
              : new Member(m.id(), m.host(), m.port(), m.incarnation(), m.state(), now, 0, m.meta()));
          changes.add(new Member[] {null, members.get(m.id())});
        }
      }
      broadcasts.clear();
    }
    notify(changes);
  }

  /** Returns how many requests this node has sent (for the per-period message count). */
  public long requestsSent() {
    return sent.get();
  }

  /** Updates this node's self-description and spreads it. */
  public synchronized void updateMeta(Map<String, String> meta) {
    Member me = members.get(selfId);
    Member updated = new Member(selfId, me.host(), me.port(), me.incarnation() + 1, NodeState.ALIVE, me.stateSinceMillis(), clock.millis(), meta);
    members.put(selfId, updated);
    enqueue(updated);
  }

  /** Announces a graceful departure: peers mark this node LEFT, not DEAD. */
  public void leave() {
    List<Member> targets;
    byte[] message;
    synchronized (this) {
      leaving = true;
      Member me = members.get(selfId);
      Member left = me.with(NodeState.LEFT, me.incarnation() + 1, clock.millis());
      members.put(selfId, left);
      enqueue(left);
      targets = liveOthers();
      Collections.shuffle(targets, random);
      message = encodePing(seq.incrementAndGet());
    }
    for (Member m : targets.subList(0, Math.min(targets.size(), 3 + settings.indirectProbes()))) {
      send(m.peer(), PING, message);
    }
  }

  /** Runs whatever is due: finishes or escalates the current probe, starts the next, expires suspicions, syncs. */
  public void tick() {
    List<Runnable> sends = new ArrayList<>();
    List<Member[]> changes = new ArrayList<>();
    synchronized (this) {
      long now = clock.millis();
      if (leaving) {
        return;
      }
      if (probe != null) {
        Member target = members.get(probe.target.id());
        if (probe.acked()) {
          adjustHealth(-1);
          probe = null;
        } else if (target == null || target.state() == NodeState.DEAD || target.state() == NodeState.LEFT) {
          probe = null;
        } else if (!probe.indirectSent && now - probe.startedAt >= scaled(settings.probeTimeout())) {
          probe.indirectSent = true;
          List<Member> helpers = liveOthers();
          helpers.removeIf(m -> m.id().equals(probe.target.id()));
          Collections.shuffle(helpers, random);
          Probe p = probe;
          for (Member helper : helpers.subList(0, Math.min(settings.indirectProbes(), helpers.size()))) {
            byte[] request = encodePingReq(p.target);
            sends.add(() -> p.indirect.add(send(helper.peer(), PING_REQ, request)));
          }
        } else if (now - probe.startedAt >= scaled(settings.protocolPeriod())) {
          if (target.state() == NodeState.ALIVE) {
            Member suspect = target.with(NodeState.SUSPECT, target.incarnation(), now);
            apply(suspect, now, changes);
          }
          // As memberlist: helpers that answered (with or without the target's ack) vouch for
          // this node; each one silent counts against it. With no helper, the failure itself does.
          adjustHealth(probe.indirect.isEmpty() ? 1 : (int) probe.indirect.stream().filter(f -> !f.isDone()).count());
          probe = null;
        }
      }
      if (probe == null && now >= nextProbeAt) {
        nextProbeAt = now + scaled(settings.protocolPeriod());
        Member target = nextProbeTarget();
        if (target != null) {
          byte[] ping = encodePing(seq.incrementAndGet());
          CompletableFuture<byte[]> direct = new CompletableFuture<>();
          probe = new Probe(target, now, direct);
          sends.add(() -> send(target.peer(), PING, ping).whenComplete((r, e) -> {
            if (e == null) {
              receive(r);
              direct.complete(r);
            } else {
              direct.completeExceptionally(e);
            }
          }));
        }
      }
      long suspicion = suspicionTimeoutMillis();
      for (Iterator<Map.Entry<String, Long>> it = suspectedAt.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<String, Long> e = it.next();
        Member m = members.get(e.getKey());
        if (m == null || m.state() != NodeState.SUSPECT) {
          it.remove();
        } else if (now - e.getValue() >= suspicion) {
          it.remove();
          apply(m.with(NodeState.DEAD, m.incarnation(), now), now, changes);
        }
      }
      if (now >= nextSyncAt) {
        nextSyncAt = now + settings.syncInterval().toMillis() * syncScale(members.size());
        List<DiscoveredPeer> syncTargets = new ArrayList<>();
        List<Member> others = liveOthers();
        if (others.isEmpty()) {
          // Every new seed once, then two at random: a node that has found 49 peers through a
          // discovery and syncs with all of them every interval multiplies a slow start.
          syncTargets.addAll(untriedSeeds);
          untriedSeeds.clear();
          List<DiscoveredPeer> tried = new ArrayList<>(seeds);
          tried.removeAll(syncTargets);
          java.util.Collections.shuffle(tried, random);
          syncTargets.addAll(tried.subList(0, Math.min(RETRIED_SEEDS, tried.size())));
        } else {
          syncTargets.add(others.get(random.nextInt(others.size())).peer());
        }
        // And one member held DEAD, as Serf reconnects to failed members: nobody probes a dead
        // one, so after a partition heals each side learns of the other only by syncing. The
        // founder has no seeds; cut off alone, it stayed apart from the others for good.
        List<Member> dead = new ArrayList<>();
        for (Member m : members.values()) {
          if (m.state() == NodeState.DEAD) {
            dead.add(m);
          }
        }
        if (!dead.isEmpty()) {
          DiscoveredPeer reconnect = dead.get(random.nextInt(dead.size())).peer();
          if (!syncTargets.contains(reconnect)) {
            syncTargets.add(reconnect);
          }
        }
        byte[] state = encodeSync();
        // A full sync may take longer than a probe, and a late answer is still news.
        Duration syncTimeout = Duration.ofMillis(Math.max(scaled(settings.protocolPeriod()), settings.syncInterval().toMillis()));
        for (DiscoveredPeer target : syncTargets) {
          sends.add(() -> send(target, SYNC, state, syncTimeout).thenAccept(this::mergeSync));
        }
      }
    }
    notify(changes);
    sends.forEach(Runnable::run);
  }

  /**
   * How much longer than the sync interval a node waits between full syncs in a cluster of
   * {@code n}: 1 up to 32 members, then one more for each doubling (memberlist's push-pull scale).
   * A sync carries every member, so at a constant interval its bytes per node would grow with
   * the cluster (a 10,000-node state is about 1.5 MB); news travels on pings, not on syncs.
   */
  static long syncScale(int n) {
    return n <= 32 ? 1 : (long) Math.ceil(Math.log(n / 32.0) / Math.log(2)) + 1;
  }

  /** Returns {@code d} stretched by this node's health score, in millis. */
  private long scaled(Duration d) {
    return d.toMillis() * (health + 1);
  }

  private void adjustHealth(int delta) {
    health = Math.max(0, Math.min(settings.maxHealthScore(), health + delta));
  }

  /** Returns this node's local health score: 0 when it keeps up, up to the settings' maximum when it does not. */
  public synchronized int healthScore() {
    return health;
  }

  /** Returns how long a suspicion lasts: it grows with log10 of the cluster size, as in memberlist. */
  synchronized long suspicionTimeoutMillis() {
    int n = Math.max(1, members.size());
    long scaled = (long) (settings.suspicionMultiplier() * Math.max(1.0, Math.log10(n)) * settings.protocolPeriod().toMillis());
    return Math.max(settings.minSuspicion().toMillis(), scaled);
  }

  private List<Member> liveOthers() {
    List<Member> result = new ArrayList<>();
    for (Member m : members.values()) {
      if (!m.id().equals(selfId) && (m.state() == NodeState.ALIVE || m.state() == NodeState.SUSPECT)) {
        result.add(m);
      }
    }
    return result;
  }

  private Member nextProbeTarget() {
    for (int attempts = 0; attempts < 2; attempts++) {
      while (probeIndex < probeOrder.size()) {
        Member m = members.get(probeOrder.get(probeIndex++));
        if (m != null && !m.id().equals(selfId) && (m.state() == NodeState.ALIVE || m.state() == NodeState.SUSPECT)) {
          return m;
        }
      }
      probeOrder.clear();
      liveOthers().forEach(m -> probeOrder.add(m.id()));
      Collections.shuffle(probeOrder, random);
      probeIndex = 0;
    }
    return null;
  }

  private CompletableFuture<byte[]> send(DiscoveredPeer target, String topic, byte[] payload) {
    long timeout;
    synchronized (this) {
      timeout = scaled(settings.protocolPeriod());
    }
    return send(target, topic, payload, Duration.ofMillis(timeout));
  }

  private CompletableFuture<byte[]> send(DiscoveredPeer target, String topic, byte[] payload, Duration timeout) {
    sent.incrementAndGet();
    try {
      return transport.request(target, topic, payload, timeout);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  // ---- receiving

  private byte[] handle(String fromNode, String topic, byte[] payload) {
    JsonNode message = parse(payload);
    List<Member[]> changes = new ArrayList<>();
    byte[] reply;
    synchronized (this) {
      long now = clock.millis();
      Member sender = members.get(fromNode);
      if (sender != null) {
        members.put(fromNode, sender.seen(now));
      }
      mergeUpdates(message.path("updates"), now, changes);
      switch (topic) {
        case PING:
          reply = encodeAck(message.path("seq").asLong());
          break;
        case PING_REQ:
          reply = null;
          break;
        case SYNC:
          for (JsonNode m : message.path("members")) {
            merge(decodeMember(m), now, changes);
          }
          reply = encodeSync();
          break;
        default:
          throw new HiveException("unknown membership topic " + topic);
      }
    }
    notify(changes);
    if (topic.equals(PING_REQ)) {
      // Probe the target for the asker, within the asker's period; answer only if it acks.
      JsonNode t = message.path("target");
      DiscoveredPeer target = new DiscoveredPeer(t.path("id").asText(), t.path("host").asText(), t.path("port").asInt());
      byte[] ack;
      try {
        CompletableFuture<byte[]> f = send(target, PING, encodePing(seq.incrementAndGet()));
        ack = f.isDone() || settings.relayWait().isZero()
            ? f.getNow(null)
            : f.get(settings.relayWait().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        throw new HiveException("indirect probe of " + target.nodeId() + " failed: " + e.getMessage());
      }
      if (ack == null) {
        throw new HiveException("indirect probe of " + target.nodeId() + " got no ack");
      }
      receive(ack);
      synchronized (this) {
        return encodeAck(message.path("seq").asLong());
      }
    }
    return reply;
  }

  private void receive(byte[] ackOrSync) {
    List<Member[]> changes = new ArrayList<>();
    synchronized (this) {
      JsonNode message = parse(ackOrSync);
      long now = clock.millis();
      String from = message.path("from").asText(null);
      if (from != null && members.containsKey(from)) {
        members.put(from, members.get(from).seen(now));
      }
      mergeUpdates(message.path("updates"), now, changes);
    }
    notify(changes);
  }

  private void mergeSync(byte[] reply) {
    List<Member[]> changes = new ArrayList<>();
    synchronized (this) {
      long now = clock.millis();
      JsonNode message = parse(reply);
      for (JsonNode m : message.path("members")) {
        merge(decodeMember(m), now, changes);
      }
    }
    notify(changes);
  }

  private void mergeUpdates(JsonNode updates, long now, List<Member[]> changes) {
    for (JsonNode u : updates) {
      merge(decodeMember(u), now, changes);
    }
  }

  /** SWIM's precedence: higher incarnation wins; at equal incarnation DEAD/LEFT over SUSPECT over ALIVE. */
  private void merge(Member news, long now, List<Member[]> changes) {
    if (news.id().equals(selfId)) {
      Member me = members.get(selfId);
      if (!leaving && news.state() != NodeState.ALIVE && news.incarnation() >= me.incarnation()) {
        // Being suspected is a sign of being slow oneself (Lifeguard).
        adjustHealth(1);
        Member refuted = new Member(selfId, me.host(), me.port(), news.incarnation() + 1, NodeState.ALIVE, me.stateSinceMillis(), now, me.meta());
        members.put(selfId, refuted);
        enqueue(refuted);
      }
      return;
    }
    Member known = members.get(news.id());
    if (known == null) {
      Member fresh = new Member(news.id(), news.host(), news.port(), news.incarnation(), news.state(), now, 0, news.meta());
      apply(fresh, now, changes);
      if (!probeOrder.contains(news.id())) {
        probeOrder.add(probeIndex + random.nextInt(probeOrder.size() - probeIndex + 1), news.id());
      }
      return;
    }
    boolean newer = news.incarnation() > known.incarnation();
    boolean same = news.incarnation() == known.incarnation();
    boolean overrides = newer || (same && rank(news.state()) > rank(known.state()));
    if (!overrides) {
      return;
    }
    Member merged = new Member(news.id(), news.host(), news.port(), news.incarnation(), news.state(),
        news.state() == known.state() ? known.stateSinceMillis() : now, known.lastSeenMillis(), news.meta().isEmpty() ? known.meta() : news.meta());
    apply(merged, now, changes);
  }

  private static int rank(NodeState s) {
    return switch (s) {
      case ALIVE -> 0;
      case SUSPECT -> 1;
      case DEAD, LEFT -> 2;
    };
  }

  private void apply(Member updated, long now, List<Member[]> changes) {
    Member before = members.put(updated.id(), updated);
    if (updated.state() == NodeState.SUSPECT) {
      suspectedAt.putIfAbsent(updated.id(), now);
    } else {
      suspectedAt.remove(updated.id());
    }
    enqueue(updated);
    if (before == null || before.state() != updated.state() || !before.host().equals(updated.host()) || before.port() != updated.port()
        || !before.meta().equals(updated.meta())) {
      changes.add(new Member[] {before, updated});
    }
  }

  private void enqueue(Member update) {
    broadcasts.remove(update.id());
    broadcasts.put(update.id(), new Broadcast(update));
  }

  private void notify(List<Member[]> changes) {
    for (Member[] c : changes) {
      listener.changed(c[0], c[1]);
    }
  }

  // ---- encoding

  private ArrayNode piggyback(ObjectNode message) {
    ArrayNode updates = message.putArray("updates");
    int limit = settings.retransmitMultiplier() * (int) Math.ceil(Math.log(members.size() + 1) / Math.log(2));
    List<Broadcast> queue = new ArrayList<>(broadcasts.values());
    queue.sort(Comparator.comparingInt(b -> b.transmits));
    int added = 0;
    for (Broadcast b : queue) {
      if (added >= settings.maxPiggyback()) {
        break;
      }
      updates.add(encodeMember(b.update));
      b.transmits++;
      added++;
      if (b.transmits >= Math.max(1, limit)) {
        broadcasts.remove(b.update.id());
      }
    }
    return updates;
  }

  private synchronized byte[] encodePing(long seq) {
    ObjectNode o = json.createObjectNode().put("seq", seq).put("from", selfId);
    piggyback(o);
    return bytes(o);
  }

  private synchronized byte[] encodeAck(long seq) {
    ObjectNode o = json.createObjectNode().put("seq", seq).put("from", selfId);
    piggyback(o);
    return bytes(o);
  }

  private synchronized byte[] encodePingReq(Member target) {
    ObjectNode o = json.createObjectNode().put("seq", seq.incrementAndGet()).put("from", selfId);
    o.putObject("target").put("id", target.id()).put("host", target.host()).put("port", target.port());
    piggyback(o);
    return bytes(o);
  }

  private synchronized byte[] encodeSync() {
    ObjectNode o = json.createObjectNode().put("from", selfId);
    ArrayNode all = o.putArray("members");
    members.values().forEach(m -> all.add(encodeMember(m)));
    return bytes(o);
  }

  private ObjectNode encodeMember(Member m) {
    ObjectNode o = json.createObjectNode();
    o.put("id", m.id()).put("host", m.host()).put("port", m.port()).put("inc", m.incarnation()).put("state", m.state().name());
    ObjectNode meta = o.putObject("meta");
    m.meta().forEach(meta::put);
    return o;
  }

  private static Member decodeMember(JsonNode o) {
    Map<String, String> meta = new LinkedHashMap<>();
    o.path("meta").fields().forEachRemaining(e -> meta.put(e.getKey(), e.getValue().asText()));
    NodeState state;
    try {
      state = NodeState.valueOf(o.path("state").asText());
    } catch (IllegalArgumentException e) {
      throw new HiveException("membership update with unknown state " + o.path("state"));
    }
    String id = o.path("id").asText("");
    if (id.isEmpty() || o.path("port").asInt(-1) < 0) {
      throw new HiveException("membership update without id or port");
    }
    return new Member(id, o.path("host").asText(), o.path("port").asInt(), o.path("inc").asLong(), state, 0, 0, meta);
  }

  private JsonNode parse(byte[] payload) {
    try {
      JsonNode node = json.readTree(payload);
      if (node == null || !node.isObject()) {
        throw new HiveException("membership message is not a JSON object");
      }
      return node;
    } catch (IOException e) {
      throw new HiveException("membership message is not JSON: " + e.getMessage());
    }
  }

  private byte[] bytes(JsonNode node) {
    try {
      return json.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new HiveException("cannot encode a membership message", e);
    }
  }
}
