package dev.hive.discovery.libp2p.host;

import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.Multistream;
import dev.hive.discovery.libp2p.wire.Noise;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.Varint;
import dev.hive.discovery.libp2p.wire.WireException;
import dev.hive.discovery.libp2p.wire.Yamux;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A libp2p host over TCP: listens and dials, secures every connection with Noise, multiplexes it
 * with yamux, serves the protocols registered with {@link #handle}, and runs identify (with push)
 * and ping for every connection. Keeps what identify taught it in a peer store.
 */
public final class Host implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Host.class);
  public static final String IDENTIFY = "/ipfs/id/1.0.0";
  public static final String IDENTIFY_PUSH = "/ipfs/id/push/1.0.0";
  public static final String PING = "/ipfs/ping/1.0.0";
  public static final String PROTOCOL_VERSION = "ipfs/0.1.0";
  static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
  static final int MAX_IDENTIFY = 64 * 1024;
  private static final List<String> MUXERS = List.of(Yamux.PROTOCOL_ID);

  /** Hears about connections. */
  public interface Listener {
    /** A connection was identified: the peer's protocols and addresses are known. */
    default void identified(Connection connection, PeerInfo peer) {}

    /** A connection ended. */
    default void disconnected(Connection connection) {}
  }

  private final PeerKeys keys;
  private final String agentVersion;
  private final Map<String, StreamHandler> handlers = new ConcurrentHashMap<>();
  private final Map<PeerId, List<Connection>> connections = new ConcurrentHashMap<>();
  private final Map<PeerId, PeerInfo> peers = new ConcurrentHashMap<>();
  private final List<ServerSocket> servers = new CopyOnWriteArrayList<>();
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final ExecutorService threads;
  private final ScheduledExecutorService timers;
  private volatile boolean closed;

  public Host(PeerKeys keys, String agentVersion) {
    this.keys = keys;
    this.agentVersion = agentVersion;
    String name = "libp2p-" + keys.peerId().toString().substring(Math.max(0, keys.peerId().toString().length() - 6));
    // Work handed over after close() is dropped: timers and connections that are still winding
    // down have nothing left to do.
    RejectedExecutionHandler dropAfterClose = (task, pool) -> {
      if (!closed) {
        throw new RejectedExecutionException("libp2p host " + name + " refused a task");
      }
    };
    // A thread per connection and per stream: virtual where the JDK has them, so that a node's
    // platform threads do not grow with its peers (about 140 a node, 7,700 in a 50-node JVM, before).
    this.threads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), dev.hive.spi.IoThreads.factory(name),
        dropAfterClose);
    this.timers = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, name + "-timers");
      t.setDaemon(true);
      return t;
    }, dropAfterClose);
    handlers.put(IDENTIFY, (c, s) -> {
      Varint.writePrefixed(s.out(), identifyMessage(c));
      s.closeWrite();
    });
    handlers.put(IDENTIFY_PUSH, (c, s) -> {
      byte[] message = Varint.readPrefixed(s.in(), MAX_IDENTIFY);
      if (message != null) {
        learn(c, message);
      }
    });
    handlers.put(PING, (c, s) -> {
      byte[] buffer = new byte[32];
      while (s.in().readNBytes(buffer, 0, 32) == 32) {
        s.out().write(buffer);
        s.out().flush();
      }
    });
    timers.scheduleWithFixedDelay(this::keepAlive, 15, 15, TimeUnit.SECONDS);
  }

  public PeerId peerId() {
    return keys.peerId();
  }

  public PeerKeys keys() {
    return keys;
  }

  /** Returns the executor protocols may run their own work on. */
  public ExecutorService executor() {
    return threads;
  }

  /** Returns the timer protocols may schedule on; tasks must be short. */
  public ScheduledExecutorService timers() {
    return timers;
  }

  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  /** Serves {@code protocol} with {@code handler}, and tells connected peers (identify push). */
  public void handle(String protocol, StreamHandler handler) {
    if (handlers.put(protocol, handler) == null && !connections.isEmpty()) {
      threads.execute(this::pushIdentify);
    }
  }

  /** Stops serving {@code protocol}; streams already open finish. */
  public void removeHandler(String protocol) {
    if (handlers.remove(protocol) != null && !connections.isEmpty()) {
      threads.execute(this::pushIdentify);
    }
  }

  public Set<String> protocols() {
    return Collections.unmodifiableSet(handlers.keySet());
  }

  /**
   * Listens on {@code host}:{@code port} (0 for any free port); may be called for several addresses.
   *
   * @return the port bound
   * @throws IOException if it cannot listen, e.g. the port is in use
   */
  public int listen(String host, int port) throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReuseAddress(true);
    try {
      server.bind(new InetSocketAddress(host, port), 256);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
          + (e instanceof java.net.BindException ? " (the port is in use; choose another with --libp2p-port)" : ""), e);
    }
    servers.add(server);
    threads.execute(() -> accept(server));
    return server.getLocalPort();
  }

  /** Says whether this host already listens on {@code port}. */
  public boolean listensOn(int port) {
    return servers.stream().anyMatch(s -> s.getLocalPort() == port);
  }

  /** Stops listening on {@code port}, keeping the connections it accepted. */
  public void stopListening(int port) {
    for (ServerSocket server : servers) {
      if (server.getLocalPort() == port) {
        servers.remove(server);
        try {
          server.close();
        } catch (IOException ignored) {
          // Closing anyway.
        }
      }
    }
  }

  private void accept(ServerSocket server) {
    while (!closed && !server.isClosed()) {
      try {
        Socket socket = server.accept();
        threads.execute(() -> {
          try {
            upgrade(socket, false, null);
          } catch (IOException e) {
            // The peer's problem (garbage, a bad signature, a timeout): only its socket is closed.
            log.debug("inbound connection {} failed its handshake: {}", socket.getRemoteSocketAddress(), e.getMessage());
          }
        });
      } catch (IOException e) {
        if (!closed && !server.isClosed()) {
          log.debug("accept failed: {}", e.getMessage());
        }
      }
    }
  }

  /** Returns the addresses this host listens on, with wildcard binds expanded to the host's interfaces. */
  public List<Multiaddr> listenAddrs() {
    Set<Multiaddr> out = new LinkedHashSet<>();
    for (ServerSocket server : servers) {
      InetAddress bound = server.getInetAddress();
      int port = server.getLocalPort();
      if (bound.isAnyLocalAddress()) {
        try {
          for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp()) {
              continue;
            }
            for (InetAddress a : Collections.list(nif.getInetAddresses())) {
              if (a instanceof java.net.Inet4Address) {
                out.add(Multiaddr.tcp(a.getHostAddress(), port));
              }
            }
          }
        } catch (SocketException e) {
          out.add(Multiaddr.tcp("127.0.0.1", port));
        }
      } else {
        out.add(Multiaddr.tcp(bound.getHostAddress(), port));
      }
    }
    return List.copyOf(out);
  }

  /** Remembers addresses of a peer, e.g. from a DHT answer. */
  public void addAddresses(PeerId peer, List<Multiaddr> addrs) {
    if (peer.equals(peerId()) || addrs.isEmpty()) {
      return;
    }
    peers.compute(peer, (id, known) -> {
      List<Multiaddr> merged = new ArrayList<>(known == null ? List.of() : known.addrs());
      for (Multiaddr a : addrs) {
        Multiaddr plain = a.withoutPeerId();
        if (!merged.contains(plain) && merged.size() < 16) {
          merged.add(plain);
        }
      }
      return new PeerInfo(id, merged, known == null ? Set.of() : known.protocols(), known == null ? null : known.agentVersion());
    });
  }

  public Optional<PeerInfo> peer(PeerId id) {
    return Optional.ofNullable(peers.get(id));
  }

  /** Returns the newest open connection to {@code peer}, identified or not. */
  public Optional<Connection> connection(PeerId peer) {
    List<Connection> list = connections.get(peer);
    if (list == null) {
      return Optional.empty();
    }
    for (int i = list.size() - 1; i >= 0; i--) {
      Connection c = list.get(i);
      if (c.isOpen()) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }

  /**
   * Returns an open connection to a peer that listens on {@code address}, as it said in identify
   * or as the DHT told: a node asked for by address need not be dialed again when it dialed us.
   */
  public Optional<Connection> connectionListeningOn(Multiaddr address) {
    for (PeerId peer : connections.keySet()) {
      PeerInfo info = peers.get(peer);
      if (info != null && info.addrs().contains(address)) {
        Optional<Connection> open = connection(peer);
        if (open.isPresent()) {
          return open;
        }
      }
    }
    return Optional.empty();
  }

  /** Returns every open connection. */
  public List<Connection> connections() {
    List<Connection> out = new ArrayList<>();
    connections.values().forEach(list -> list.stream().filter(Connection::isOpen).forEach(out::add));
    return out;
  }

  /**
   * Returns a connection to {@code peer}, dialing its known addresses if there is none.
   *
   * @throws IOException if no address answers as that peer
   */
  public Connection connect(PeerId peer, Duration timeout) throws IOException {
    Optional<Connection> existing = connection(peer);
    if (existing.isPresent()) {
      return existing.get();
    }
    PeerInfo info = peers.get(peer);
    List<Multiaddr> addrs = info == null ? List.of() : info.addrs();
    return dial(peer, addrs, timeout);
  }

  /**
   * Dials {@code addrs} in turn until one answers (as {@code expected}, if given).
   *
   * @throws IOException saying why each failed
   */
  public Connection dial(PeerId expected, List<Multiaddr> addrs, Duration timeout) throws IOException {
    if (closed) {
      throw new IOException("host is closed");
    }
    if (expected != null && expected.equals(peerId())) {
      throw new IOException("a host does not dial itself");
    }
    List<String> failures = new ArrayList<>();
    for (Multiaddr addr : addrs) {
      if (!addr.isDialableTcp()) {
        continue;
      }
      Socket socket = new Socket();
      try {
        socket.connect(new InetSocketAddress(addr.host().orElseThrow(), addr.tcpPort().orElseThrow()), (int) timeout.toMillis());
        return upgrade(socket, true, expected == null ? addr.peerId().orElse(null) : expected);
      } catch (IOException e) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // Closing a socket that failed.
        }
        failures.add(addr + ": " + e.getMessage());
      }
    }
    throw new IOException("cannot reach " + (expected == null ? "peer" : expected) + (failures.isEmpty() ? ": no dialable TCP address known" : ": " + failures));
  }

  /**
   * Secures and multiplexes a new socket.
   *
   * @throws IOException saying why the handshake failed; the socket is closed then
   */
  private Connection upgrade(Socket socket, boolean outbound, PeerId expected) throws IOException {
    try {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
      InputStream in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
      OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 128 * 1024);
      Noise.Session session;
      if (outbound) {
        Multistream.select(in, out, List.of(Noise.PROTOCOL_ID));
        session = Noise.initiate(in, out, keys, MUXERS, expected);
      } else {
        Multistream.handle(in, out, Noise.PROTOCOL_ID::equals);
        session = Noise.respond(in, out, keys, MUXERS);
      }
      if (session.remoteMuxers().isEmpty()) {
        // The peer did not negotiate its muxer inside the handshake: do it with multistream-select.
        if (outbound) {
          Multistream.select(session.in(), session.out(), MUXERS);
        } else {
          Multistream.handle(session.in(), session.out(), Yamux.PROTOCOL_ID::equals);
        }
      } else if (!session.remoteMuxers().contains(Yamux.PROTOCOL_ID)) {
        throw new WireException("peer's muxers " + session.remoteMuxers() + " do not include " + Yamux.PROTOCOL_ID);
      }
      socket.setSoTimeout(0);
      Multiaddr remoteAddress = Multiaddr.tcp(socket.getInetAddress().getHostAddress(), socket.getPort());
      Connection[] self = new Connection[1];
      Yamux muxer = new Yamux(session.in(), session.out(), outbound, threads, stream -> serve(self[0], stream));
      Connection connection = new Connection(session.remotePeer(), remoteAddress, outbound, muxer);
      self[0] = connection;
      if (closed) {
        muxer.close();
        throw new IOException("host is closed");
      }
      connections.computeIfAbsent(session.remotePeer(), p -> new CopyOnWriteArrayList<>()).add(connection);
      muxer.closedFuture().whenComplete((v, e) -> {
        try {
          socket.close();
        } catch (IOException ignored) {
          // Closing a finished connection.
        }
        List<Connection> list = connections.get(connection.remotePeer());
        if (list != null) {
          list.remove(connection);
          if (list.isEmpty()) {
            connections.remove(connection.remotePeer(), list);
          }
        }
        listeners.forEach(l -> l.disconnected(connection));
      });
      threads.execute(muxer::run);
      threads.execute(() -> identify(connection));
      return connection;
    } catch (IOException | RuntimeException e) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // Closing a socket that failed.
      }
      throw e instanceof IOException io ? io : new IOException("handshake failed: " + e, e);
    }
  }

  private void serve(Connection connection, Yamux.Stream stream) {
    try {
      String protocol = Multistream.handle(stream.in(), stream.out(), handlers::containsKey);
      handlers.get(protocol).handle(connection, stream);
    } catch (IOException | RuntimeException e) {
      log.debug("stream from {} failed: {}", connection.remotePeer(), e.toString());
      stream.reset();
      return;
    }
    stream.close();
  }

  private byte[] identifyMessage(Connection connection) {
    ProtoWriter w = new ProtoWriter().bytes(1, keys.encodedPublicKey());
    listenAddrs().forEach(a -> w.bytes(2, a.bytes()));
    handlers.keySet().stream().sorted().forEach(p -> w.string(3, p));
    return w.bytes(4, connection.remoteAddress().bytes()).string(5, PROTOCOL_VERSION).string(6, agentVersion).toByteArray();
  }

  private void identify(Connection connection) {
    try {
      Yamux.Stream stream = connection.newStream(List.of(IDENTIFY)).stream();
      try {
        byte[] message = Varint.readPrefixed(stream.in(), MAX_IDENTIFY);
        if (message == null) {
          throw new WireException("peer closed identify without answering");
        }
        learn(connection, message);
      } finally {
        stream.close();
      }
    } catch (IOException | RuntimeException e) {
      log.debug("identify of {} failed: {}", connection.remotePeer(), e.toString());
      connection.identified().completeExceptionally(e);
    }
  }

  /** Reads an identify message and updates the peer store; malformed addresses are skipped. */
  private void learn(Connection connection, byte[] message) throws WireException {
    ProtoReader r = new ProtoReader(message);
    List<Multiaddr> addrs = new ArrayList<>();
    Set<String> protocols = new LinkedHashSet<>();
    String agent = null;
    byte[] publicKey = null;
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> publicKey = r.bytes();
        case 2 -> {
          byte[] raw = r.bytes();
          try {
            addrs.add(Multiaddr.fromBytes(raw));
          } catch (WireException e) {
            // An address of a transport this host does not speak.
          }
        }
        case 3 -> protocols.add(r.string());
        case 6 -> agent = r.string();
        default -> r.skip();
      }
    }
    if (publicKey != null && !connection.remotePeer().matches(publicKey)) {
      throw new WireException("identify's public key is not the connection's peer");
    }
    String agentVersionSeen = agent;
    PeerInfo info = peers.compute(connection.remotePeer(), (id, known) -> new PeerInfo(id,
        addrs.isEmpty() && known != null ? known.addrs() : addrs.stream().map(Multiaddr::withoutPeerId).limit(16).toList(),
        protocols, agentVersionSeen == null && known != null ? known.agentVersion() : agentVersionSeen));
    connection.completeIdentify(info);
    listeners.forEach(l -> l.identified(connection, info));
  }

  private void pushIdentify() {
    for (Connection c : connections()) {
      try {
        Yamux.Stream s = c.newStream(List.of(IDENTIFY_PUSH)).stream();
        Varint.writePrefixed(s.out(), identifyMessage(c));
        s.close();
      } catch (IOException e) {
        log.debug("identify push to {} failed: {}", c.remotePeer(), e.getMessage());
      }
    }
  }

  /**
   * Pings {@code peer} with {@code /ipfs/ping/1.0.0}.
   *
   * @return the round trip in milliseconds
   * @throws IOException if the peer cannot be reached or echoes something else
   */
  public long ping(PeerId peer, Duration timeout) throws IOException {
    Connection c = connect(peer, timeout);
    Yamux.Stream s = c.newStream(List.of(PING)).stream();
    try {
      byte[] payload = new byte[32];
      new java.security.SecureRandom().nextBytes(payload);
      long start = System.nanoTime();
      s.out().write(payload);
      s.out().flush();
      byte[] echo = s.in().readNBytes(32);
      if (!java.util.Arrays.equals(payload, echo)) {
        throw new WireException("ping answer does not echo the payload");
      }
      return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    } finally {
      s.close();
    }
  }

  private void keepAlive() {
    for (Connection c : connections()) {
      c.keepAlive().orTimeout(10, TimeUnit.SECONDS).whenComplete((rtt, e) -> {
        if (e != null) {
          log.debug("{} did not answer a keep-alive: closing the connection", c.remotePeer());
          c.close();
        }
      });
    }
  }

  @Override
  public void close() {
    closed = true;
    for (ServerSocket s : servers) {
      try {
        s.close();
      } catch (IOException ignored) {
        // Closing anyway.
      }
    }
    connections().forEach(Connection::close);
    timers.shutdownNow();
    threads.shutdownNow();
  }

  @Override
  public String toString() {
    return "libp2p host " + peerId();
  }
}
