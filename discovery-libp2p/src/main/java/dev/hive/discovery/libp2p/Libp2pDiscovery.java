package dev.hive.discovery.libp2p;

import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.kad.Kademlia;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.WireException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Discovery {@code libp2p}: a node joins the DHT through its bootstrap peers, announces itself as
 * a provider of a key derived from the cluster's name and join token, finds the other providers
 * and connects to some of them; members then announce themselves every second on a gossipsub
 * topic of the cluster, each announcement carrying an HMAC keyed by the token. A member not heard
 * for {@code hive.libp2p.lost-after} (5 s) is lost.
 *
 * <p>Both times grow with the cluster: from {@value #PEERS_PER_INTERVAL} peers heard on, a node
 * announces every {@code interval * (heard / 10)} (rounded down) and waits as many times longer
 * before calling a peer lost. Every node checks every announcement's Ed25519 signature, so a fixed interval
 * would cost n² checks per interval; this keeps the whole cluster near ten announcements per
 * interval (what a node is still found by) while Hive's own membership watches liveness.
 */
final class Libp2pDiscovery implements Discovery {
  private static final Logger log = LoggerFactory.getLogger(Libp2pDiscovery.class);
  static final String INTERVAL = "hive.libp2p.announce-interval";
  static final String LOST_AFTER = "hive.libp2p.lost-after";
  /** New connections to providers per round: enough for one mesh, not a full graph. */
  static final int DIALS_PER_ROUND = 6;
  /** Peers heard per configured interval before a node announces less often. */
  static final int PEERS_PER_INTERVAL = 10;
  /** How often a well-connected node walks the DHT for providers it is not connected to. */
  static final Duration LOOKUP_INTERVAL = Duration.ofMinutes(1);
  /** How often a node provides the cluster key again. */
  static final Duration PROVIDE_INTERVAL = Duration.ofMinutes(10);

  private final Libp2pNode node;
  private final String cluster;
  private final String topic;
  private final byte[] providerKey;
  private final Duration interval;
  private final Duration lostAfter;
  private final Clock clock;
  private final Map<String, Heard> heard = new ConcurrentHashMap<>();
  private volatile DiscoveredPeer self;
  private volatile Listener listener;
  private volatile ScheduledFuture<?> announcer;
  private volatile ScheduledFuture<?> finder;
  private volatile boolean closed;
  private int rounds;
  private long lastLookup = Long.MIN_VALUE / 2;
  private long lastProvide = Long.MIN_VALUE / 2;

  private record Heard(DiscoveredPeer peer, long at) {}

  Libp2pDiscovery(Libp2pNode node, String cluster, Duration interval, Duration lostAfter, Clock clock) {
    this.node = node;
    this.cluster = cluster;
    this.interval = interval;
    this.lostAfter = lostAfter;
    this.clock = clock;
    String scope = HexFormat.of().formatHex(node.mac("scope", cluster)).substring(0, 32);
    this.topic = "/hive/cluster/" + scope;
    this.providerKey = Kademlia.providerKey(("/hive/cluster/" + scope).getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String name() {
    return "libp2p";
  }

  Host host() {
    return node.host;
  }

  @Override
  public void start(DiscoveredPeer self, Listener listener) {
    this.self = self;
    this.listener = listener;
    node.pubsub.subscribe(topic, (t, data, sender) -> heard(data, sender));
    scheduleAnnouncement(0);
    node.host.executor().execute(() -> {
      node.dht.bootstrap(node.bootstrap, Duration.ofMinutes(5));
      findMembers();
    });
  }

  /**
   * Provides the cluster key and dials other providers: often at first, then, once connected,
   * looks again every minute and provides again every ten (a provider record lives 24 h). Looking
   * and providing every 10 s was two DHT walks per node: 200 requests a second among 50 nodes.
   */
  private void findMembers() {
    if (closed) {
      return;
    }
    long now = clock.millis();
    boolean connected = node.pubsub.topicPeers(topic).size() >= DIALS_PER_ROUND;
    if (connected && now - lastLookup < LOOKUP_INTERVAL.toMillis()) {
      scheduleFinding(10_000);
      return;
    }
    lastLookup = now;
    try {
      if (now - lastProvide >= PROVIDE_INTERVAL.toMillis()) {
        node.dht.provide(providerKey);
        lastProvide = now;
      }
      List<PeerId> others = new ArrayList<>(node.dht.findProviders(providerKey, 64));
      others.remove(node.host.peerId());
      Collections.shuffle(others);
      int dialed = 0;
      for (PeerId p : others) {
        if (node.host.connection(p).isPresent() || dialed >= DIALS_PER_ROUND) {
          continue;
        }
        dialed++;
        try {
          node.host.connect(p, Duration.ofSeconds(5));
        } catch (java.io.IOException e) {
          log.debug("cluster peer {} did not answer: {}", p, e.getMessage());
        }
      }
    } catch (RuntimeException e) {
      log.warn("finding cluster members through the DHT failed: {}", e.toString());
    }
    rounds++;
    // Often at first; then a node with fewer cluster peers than one round dials looks again
    // sooner (1 s, 2 s, ... up to 10 s): a node left out of the mesh is not heard until it does.
    boolean wellConnected = node.pubsub.topicPeers(topic).size() >= DIALS_PER_ROUND;
    scheduleFinding(rounds < 5 ? 500L * rounds : wellConnected ? 10_000 : Math.min(10_000, 1_000L * (rounds - 4)));
  }

  private void scheduleFinding(long delayMillis) {
    if (!closed) {
      finder = node.host.timers().schedule(() -> node.host.executor().execute(this::findMembers), delayMillis, TimeUnit.MILLISECONDS);
    }
  }

  private void scheduleAnnouncement(long delayMillis) {
    if (!closed) {
      announcer = node.host.timers().schedule(() -> node.host.executor().execute(() -> {
        announceAndExpire();
        scheduleAnnouncement(interval.toMillis() * scale());
      }), delayMillis, TimeUnit.MILLISECONDS);
    }
  }

  /** How many times the configured interval and lost-after apply, for the peers heard now. */
  private long scale() {
    return Math.max(1, heard.size() / PEERS_PER_INTERVAL);
  }

  private byte[] announcement(DiscoveredPeer peer, boolean leaving) {
    long at = clock.millis();
    String peerId = node.host.peerId().toString();
    byte[] mac = node.mac("announce", cluster, peer.nodeId(), peer.host(), Integer.toString(peer.port()), peerId, Long.toString(at), Boolean.toString(leaving));
    return new ProtoWriter().string(1, peer.nodeId()).string(2, peer.host()).uint(3, peer.port()).string(4, peerId)
        .uint(5, at).uint(6, leaving ? 1 : 0).bytes(7, mac).toByteArray();
  }

  private void announceAndExpire() {
    DiscoveredPeer me = self;
    if (closed || me == null) {
      return;
    }
    node.pubsub.publish(topic, announcement(me, false));
    long now = clock.millis();
    long lostAfterMillis = lostAfter.toMillis() * scale();
    heard.values().removeIf(h -> {
      if (now - h.at() > lostAfterMillis) {
        listener.peerLost(h.peer());
        return true;
      }
      return false;
    });
  }

  /** Takes an announcement: only with the token's HMAC, only about the peer that signed it. */
  private void heard(byte[] data, PeerId sender) {
    try {
      ProtoReader r = new ProtoReader(data);
      String nodeId = null;
      String host = null;
      long port = -1;
      String peerId = null;
      long at = 0;
      boolean leaving = false;
      byte[] mac = null;
      for (int f; (f = r.next()) > 0; ) {
        switch (f) {
          case 1 -> nodeId = r.string();
          case 2 -> host = r.string();
          case 3 -> port = r.uint();
          case 4 -> peerId = r.string();
          case 5 -> at = r.uint();
          case 6 -> leaving = r.uint() != 0;
          case 7 -> mac = r.bytes();
          default -> r.skip();
        }
      }
      if (nodeId == null || host == null || port < 0 || port > 65535 || mac == null || !sender.toString().equals(peerId)) {
        throw new WireException("announcement is incomplete or not about its sender");
      }
      byte[] expected = node.mac("announce", cluster, nodeId, host, Long.toString(port), peerId, Long.toString(at), Boolean.toString(leaving));
      if (!MessageDigest.isEqual(expected, mac)) {
        throw new WireException("announcement's HMAC does not match: another token");
      }
      DiscoveredPeer me = self;
      if (me != null && nodeId.equals(me.nodeId())) {
        return;
      }
      DiscoveredPeer peer = new DiscoveredPeer(nodeId, host, (int) port);
      if (leaving) {
        if (heard.remove(nodeId) != null) {
          listener.peerLost(peer);
        }
        return;
      }
      Heard before = heard.put(nodeId, new Heard(peer, clock.millis()));
      if (before == null || !before.peer().equals(peer)) {
        listener.peerFound(peer);
      }
    } catch (WireException e) {
      log.debug("ignored an announcement from {}: {}", sender, e.getMessage());
    }
  }

  @Override
  public Map<String, String> describe() {
    return Map.of("peerId", node.host.peerId().toString(),
        "multiaddrs", String.join(",", node.multiaddrs().stream().map(Object::toString).toList()));
  }

  @Override
  public void update(DiscoveredPeer self) {
    this.self = self;
    node.host.executor().execute(this::announceAndExpire);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    DiscoveredPeer me = self;
    if (announcer != null) {
      announcer.cancel(false);
    }
    if (finder != null) {
      finder.cancel(false);
    }
    if (me != null) {
      node.pubsub.publish(topic, announcement(me, true));
    }
    node.pubsub.unsubscribe(topic);
    node.release();
  }
}
