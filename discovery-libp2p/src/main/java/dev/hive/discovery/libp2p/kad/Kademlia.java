package dev.hive.discovery.libp2p.kad;

import dev.hive.discovery.libp2p.host.Connection;
import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.host.PeerInfo;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.Varint;
import dev.hive.discovery.libp2p.wire.WireException;
import dev.hive.discovery.libp2p.wire.Yamux;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kademlia DHT as libp2p peers run it: a routing table of servers (peers whose identify lists
 * the DHT protocol and at least one address), iterative lookups (alpha 3, k 20), values checked by
 * a validator per key namespace, provider records, bootstrap and a periodic refresh.
 */
public final class Kademlia implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Kademlia.class);
  public static final String DEFAULT_PROTOCOL = "/ipfs/kad/1.0.0";
  static final int K = 20;
  static final int ALPHA = 3;
  static final int MAX_MESSAGE = 1024 * 1024;
  static final Duration QUERY_TIMEOUT = Duration.ofSeconds(5);
  static final Duration FIRST_BOOTSTRAP_RETRY = Duration.ofMillis(250);
  static final Duration LAST_BOOTSTRAP_RETRY = Duration.ofSeconds(30);
  static final Duration PROVIDER_TTL = Duration.ofHours(24);
  static final int MAX_RECORDS = 10_000;

  private final Host host;
  private final String protocol;
  private final Clock clock;
  private final RoutingTable table;
  private final Map<String, RecordValidator> validators = new ConcurrentHashMap<>();
  private final Map<ByteBuffer, KadMessage.Record> records = new ConcurrentHashMap<>();
  private final Map<ByteBuffer, Map<PeerId, Instant>> providers = new ConcurrentHashMap<>();
  private volatile ScheduledFuture<?> refresh;
  private volatile ScheduledFuture<?> retry;
  private volatile boolean closed;

  public Kademlia(Host host, String protocol, Clock clock) {
    this.host = host;
    this.protocol = protocol;
    this.clock = clock;
    this.table = new RoutingTable(host.peerId(), K);
    validators.put("pk", (key, value) -> {
      PeerId owner = PeerId.fromBytes(Arrays.copyOfRange(key, 4, key.length));
      if (!owner.matches(value)) {
        throw new WireException("/pk/ record does not hold the public key of " + owner);
      }
    });
    host.handle(protocol, this::serve);
    host.addListener(new Host.Listener() {
      @Override
      public void identified(Connection connection, PeerInfo peer) {
        if (peer.protocols().contains(protocol) && !peer.addrs().isEmpty()) {
          table.add(peer.id(), clock.millis());
        }
      }
    });
  }

  /** Accepts records under {@code /namespace/...} checked by {@code validator}; others are refused. */
  public void validator(String namespace, RecordValidator validator) {
    validators.put(namespace, validator);
  }

  public RoutingTable routingTable() {
    return table;
  }

  public String protocol() {
    return protocol;
  }

  /**
   * Connects to {@code peers}, fills the routing table with a lookup of this node's own id, and
   * repeats the lookup every {@code refreshEvery}.
   *
   * @return how many bootstrap peers answered
   */
  public int bootstrap(List<Multiaddr> peers, Duration refreshEvery) {
    int reached = dialBootstrapPeers(peers, true);
    findNode(host.peerId());
    if (refresh == null && !refreshEvery.isZero()) {
      refresh = host.timers().scheduleWithFixedDelay(() -> host.executor().execute(() -> findNode(host.peerId())),
          refreshEvery.toMillis(), refreshEvery.toMillis(), TimeUnit.MILLISECONDS);
    }
    if (reached == 0 && !peers.isEmpty()) {
      retryBootstrap(peers, FIRST_BOOTSTRAP_RETRY);
    }
    return reached;
  }

  private int dialBootstrapPeers(List<Multiaddr> peers, boolean firstTime) {
    int reached = 0;
    for (Multiaddr addr : peers) {
      try {
        Connection c = host.dial(addr.peerId().orElse(null), List.of(addr), QUERY_TIMEOUT);
        c.identified().get(QUERY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        host.addAddresses(c.remotePeer(), List.of(addr.withoutPeerId()));
        table.add(c.remotePeer(), clock.millis());
        reached++;
      } catch (Exception e) {
        if (firstTime) {
          log.warn("bootstrap peer {} did not answer (trying again, backing off to {} s): {}", addr, LAST_BOOTSTRAP_RETRY.toSeconds(),
              e.getMessage());
        } else {
          log.debug("bootstrap peer {} did not answer: {}", addr, e.getMessage());
        }
      }
    }
    return reached;
  }

  /**
   * Tries the bootstrap peers again after {@code delay}, doubling it up to 30 s, until one is
   * connected: a peer started together with its bootstrap peers (a cluster booted at once) must
   * not stay cut off because it asked a moment too early -- even when peers that bootstrap through
   * it have found it meanwhile, they and it would otherwise form an island.
   */
  private void retryBootstrap(List<Multiaddr> peers, Duration delay) {
    if (closed) {
      return;
    }
    retry = host.timers().schedule(() -> host.executor().execute(() -> {
      boolean connected = peers.stream().anyMatch(a -> a.peerId().flatMap(host::connection).isPresent());
      if (closed || connected) {
        return;
      }
      if (dialBootstrapPeers(peers, false) > 0) {
        findNode(host.peerId());
      } else {
        Duration next = delay.multipliedBy(2);
        retryBootstrap(peers, next.compareTo(LAST_BOOTSTRAP_RETRY) > 0 ? LAST_BOOTSTRAP_RETRY : next);
      }
    }), delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  // ---- serving

  private void serve(Connection connection, Yamux.Stream stream) throws IOException {
    byte[] raw;
    while ((raw = Varint.readPrefixed(stream.in(), MAX_MESSAGE)) != null) {
      KadMessage request = KadMessage.decode(raw);
      KadMessage reply = answer(connection, request);
      if (reply != null) {
        Varint.writePrefixed(stream.out(), reply.encode());
      }
    }
  }

  private KadMessage answer(Connection from, KadMessage request) throws WireException {
    byte[] key = request.key();
    if (key == null && request.type() != KadMessage.PING) {
      throw new WireException("DHT request without a key");
    }
    return switch (request.type()) {
      case KadMessage.PING -> request;
      case KadMessage.FIND_NODE -> new KadMessage(KadMessage.FIND_NODE, key, null, closerPeers(key, from.remotePeer()), List.of());
      case KadMessage.PUT_VALUE -> {
        KadMessage.Record r = request.record();
        if (r == null || r.value() == null || !Arrays.equals(r.key(), key)) {
          throw new WireException("PUT_VALUE without a record for its key");
        }
        validate(key, r.value());
        store(key, r.value());
        yield request;
      }
      case KadMessage.GET_VALUE -> new KadMessage(KadMessage.GET_VALUE, key, records.get(ByteBuffer.wrap(key)), closerPeers(key, from.remotePeer()), List.of());
      case KadMessage.ADD_PROVIDER -> {
        for (KadMessage.Peer p : request.providerPeers()) {
          // A peer may only announce itself.
          if (p.id().equals(from.remotePeer())) {
            host.addAddresses(p.id(), p.addrs());
            addProvider(key, p.id());
          }
        }
        yield null;
      }
      case KadMessage.GET_PROVIDERS -> new KadMessage(KadMessage.GET_PROVIDERS, key, null, closerPeers(key, from.remotePeer()), providerPeers(key));
      default -> throw new WireException("DHT message type " + request.type() + " is unknown");
    };
  }

  private void validate(byte[] key, byte[] value) throws WireException {
    String text = new String(key, StandardCharsets.ISO_8859_1);
    int slash = text.indexOf('/', 1);
    if (!text.startsWith("/") || slash < 0) {
      throw new WireException("record key is not /namespace/...");
    }
    RecordValidator v = validators.get(text.substring(1, slash));
    if (v == null) {
      throw new WireException("no validator for namespace " + text.substring(0, slash));
    }
    v.validate(key, value);
  }

  private void store(byte[] key, byte[] value) throws WireException {
    if (records.size() >= MAX_RECORDS && !records.containsKey(ByteBuffer.wrap(key))) {
      throw new WireException("record store is full");
    }
    records.put(ByteBuffer.wrap(key.clone()), new KadMessage.Record(key, value, Instant.now(clock).toString()));
  }

  private void addProvider(byte[] key, PeerId provider) {
    Map<PeerId, Instant> set = providers.computeIfAbsent(ByteBuffer.wrap(key.clone()), k -> new ConcurrentHashMap<>());
    if (set.size() < 1000 || set.containsKey(provider)) {
      set.put(provider, Instant.now(clock).plus(PROVIDER_TTL));
    }
  }

  private List<KadMessage.Peer> closerPeers(byte[] key, PeerId except) {
    List<KadMessage.Peer> out = new ArrayList<>();
    for (PeerId p : table.closest(key, K + 1)) {
      if (!p.equals(except) && out.size() < K) {
        out.add(describe(p));
      }
    }
    return out;
  }

  private KadMessage.Peer describe(PeerId p) {
    if (p.equals(host.peerId())) {
      return new KadMessage.Peer(p, host.listenAddrs(), 1);
    }
    List<Multiaddr> addrs = host.peer(p).map(PeerInfo::addrs).orElse(List.of());
    return new KadMessage.Peer(p, addrs, host.connection(p).isPresent() ? 1 : 0);
  }

  private List<KadMessage.Peer> providerPeers(byte[] key) {
    Map<PeerId, Instant> set = providers.get(ByteBuffer.wrap(key));
    if (set == null) {
      return List.of();
    }
    Instant now = Instant.now(clock);
    set.values().removeIf(expiry -> expiry.isBefore(now));
    return set.keySet().stream().map(this::describe).limit(64).toList();
  }

  // ---- querying

  private KadMessage query(PeerId peer, KadMessage request) throws IOException {
    Connection c = host.connect(peer, QUERY_TIMEOUT);
    Yamux.Stream s = c.newStream(List.of(protocol)).stream();
    try {
      Varint.writePrefixed(s.out(), request.encode());
      if (request.type() == KadMessage.ADD_PROVIDER) {
        return null;
      }
      byte[] raw = Varint.readPrefixed(s.in(), MAX_MESSAGE);
      if (raw == null) {
        throw new WireException("peer closed the DHT stream without answering");
      }
      KadMessage reply = KadMessage.decode(raw);
      table.add(peer, clock.millis());
      for (KadMessage.Peer p : reply.closerPeers()) {
        host.addAddresses(p.id(), p.addrs());
      }
      for (KadMessage.Peer p : reply.providerPeers()) {
        host.addAddresses(p.id(), p.addrs());
      }
      return reply;
    } finally {
      s.close();
    }
  }

  /** What an iterative lookup does with each answer; returning true stops the lookup. */
  private interface Visitor {
    boolean visit(PeerId from, KadMessage reply);
  }

  /** Queries ever-closer peers, alpha at a time, until the k closest seen have all answered or failed. */
  private List<PeerId> lookup(byte[] key, int type, Visitor visitor) {
    byte[] target = RoutingTable.hash(key);
    TreeSet<PeerId> candidates = new TreeSet<>(RoutingTable.byDistanceTo(target));
    candidates.addAll(table.closest(key, K));
    Set<PeerId> queried = new HashSet<>();
    List<PeerId> answered = new ArrayList<>();
    while (true) {
      List<PeerId> next = new ArrayList<>();
      int rank = 0;
      for (PeerId p : candidates) {
        if (rank++ >= K) {
          break;
        }
        if (!queried.contains(p) && next.size() < ALPHA) {
          next.add(p);
        }
      }
      if (next.isEmpty()) {
        break;
      }
      queried.addAll(next);
      List<CompletableFuture<KadMessage>> replies = new ArrayList<>();
      for (PeerId p : next) {
        replies.add(CompletableFuture.supplyAsync(() -> {
          try {
            return query(p, KadMessage.request(type, key));
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }, host.executor()).orTimeout(QUERY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
      }
      boolean stop = false;
      for (int i = 0; i < next.size(); i++) {
        PeerId p = next.get(i);
        try {
          KadMessage reply = replies.get(i).join();
          answered.add(p);
          for (KadMessage.Peer closer : reply.closerPeers()) {
            if (!closer.id().equals(host.peerId()) && !closer.addrs().isEmpty()) {
              candidates.add(closer.id());
            }
          }
          stop |= visitor.visit(p, reply);
        } catch (RuntimeException e) {
          candidates.remove(p);
          table.remove(p);
          log.debug("DHT query to {} failed: {}", p, e.getMessage());
        }
      }
      if (stop) {
        break;
      }
    }
    answered.sort(RoutingTable.byDistanceTo(target));
    return answered.size() > K ? answered.subList(0, K) : answered;
  }

  /** Returns the (up to k) peers closest to {@code peer} that answered, after an iterative lookup. */
  public List<PeerId> findNode(PeerId peer) {
    return lookup(peer.bytes(), KadMessage.FIND_NODE, (from, reply) -> false);
  }

  /** Finds where {@code peer} listens: from the peer store, else by a lookup. */
  public Optional<List<Multiaddr>> findPeer(PeerId peer) {
    Optional<PeerInfo> known = host.peer(peer).filter(p -> !p.addrs().isEmpty());
    if (known.isPresent()) {
      return Optional.of(known.get().addrs());
    }
    lookup(peer.bytes(), KadMessage.FIND_NODE, (from, reply) -> reply.closerPeers().stream().anyMatch(p -> p.id().equals(peer) && !p.addrs().isEmpty()));
    return host.peer(peer).map(PeerInfo::addrs).filter(a -> !a.isEmpty());
  }

  /**
   * Stores a value here and at the k closest peers.
   *
   * @return how many peers accepted it
   * @throws WireException if this node's own validator refuses it
   */
  public int putValue(byte[] key, byte[] value) throws WireException {
    validate(key, value);
    store(key, value);
    KadMessage put = new KadMessage(KadMessage.PUT_VALUE, key, new KadMessage.Record(key, value, Instant.now(clock).toString()), List.of(), List.of());
    int accepted = 0;
    for (PeerId p : findKeyPeers(key)) {
      try {
        KadMessage reply = query(p, put);
        if (reply.record() != null && Arrays.equals(reply.record().value(), value)) {
          accepted++;
        }
      } catch (IOException e) {
        log.debug("PUT_VALUE to {} failed: {}", p, e.getMessage());
      }
    }
    return accepted;
  }

  private List<PeerId> findKeyPeers(byte[] key) {
    return lookup(key, KadMessage.FIND_NODE, (from, reply) -> false);
  }

  /** Returns the best valid value of {@code key} found here or at the closest peers. */
  public Optional<byte[]> getValue(byte[] key) {
    List<byte[]> values = new ArrayList<>();
    KadMessage.Record local = records.get(ByteBuffer.wrap(key));
    if (local != null) {
      values.add(local.value());
    }
    lookup(key, KadMessage.GET_VALUE, (from, reply) -> {
      KadMessage.Record r = reply.record();
      if (r != null && r.value() != null && Arrays.equals(r.key() == null ? key : r.key(), key)) {
        try {
          validate(key, r.value());
          values.add(r.value());
        } catch (WireException e) {
          log.debug("{} returned an invalid record: {}", from, e.getMessage());
        }
      }
      return values.size() >= 3;
    });
    if (values.isEmpty()) {
      return Optional.empty();
    }
    String text = new String(key, StandardCharsets.ISO_8859_1);
    RecordValidator v = validators.get(text.substring(1, Math.max(1, text.indexOf('/', 1))));
    return Optional.of(values.get(v == null ? 0 : v.select(key, values)));
  }

  /**
   * Announces this node as a provider of {@code key} (a sha2-256 multihash) to the k closest peers.
   *
   * @return how many peers were told
   */
  public int provide(byte[] key) {
    addProvider(key, host.peerId());
    KadMessage add = new KadMessage(KadMessage.ADD_PROVIDER, key, null, List.of(),
        List.of(new KadMessage.Peer(host.peerId(), host.listenAddrs(), 1)));
    int told = 0;
    for (PeerId p : findKeyPeers(key)) {
      try {
        query(p, add);
        told++;
      } catch (IOException e) {
        log.debug("ADD_PROVIDER to {} failed: {}", p, e.getMessage());
      }
    }
    return told;
  }

  /** Returns providers of {@code key} known here or to the closest peers, with their addresses in the peer store. */
  public Set<PeerId> findProviders(byte[] key, int limit) {
    Set<PeerId> found = new java.util.LinkedHashSet<>();
    for (KadMessage.Peer p : providerPeers(key)) {
      found.add(p.id());
    }
    lookup(key, KadMessage.GET_PROVIDERS, (from, reply) -> {
      reply.providerPeers().forEach(p -> found.add(p.id()));
      return found.size() >= limit;
    });
    return found;
  }

  /** Returns the sha2-256 multihash of {@code data}: the form provider keys take (js reads them as a CID). */
  public static byte[] providerKey(byte[] data) {
    byte[] out = new byte[34];
    out[0] = 0x12;
    out[1] = 32;
    System.arraycopy(RoutingTable.hash(data), 0, out, 2, 32);
    return out;
  }

  /** Returns the records this node stores (for tests and diagnostics). */
  public Map<String, byte[]> storedRecords() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    records.forEach((k, r) -> out.put(new String(r.key(), StandardCharsets.ISO_8859_1), r.value()));
    return out;
  }

  @Override
  public void close() {
    closed = true;
    if (refresh != null) {
      refresh.cancel(false);
    }
    if (retry != null) {
      retry.cancel(false);
    }
  }
}
