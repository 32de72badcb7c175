package dev.hive.core.service;

import dev.hive.api.InvalidSpecException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP proxy every node runs for every service: it listens on the service's port and sends
 * each connection to a healthy instance anywhere in the cluster, by round robin or to the one with
 * the fewest open connections. An instance that refuses a connection is skipped (and avoided for
 * a few seconds); a connection whose instance dies before answering anything is sent, with the
 * bytes the client had written, to another one -- so a killed replica costs no request that had
 * not been answered yet. A draining instance is no longer in the catalog, so it gets no new
 * connections while its open ones finish.
 */
public final class ServiceProxy implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceProxy.class);
  static final int BUFFER_BYTES = 64 * 1024;
  /** Bytes kept for a replay; a client that writes more before any answer is not replayed. */
  static final int REPLAY_LIMIT = 64 * 1024;
  static final int MAX_ATTEMPTS = 3;
  static final long EJECT_MILLIS = 5_000;
  static final int CONNECT_TIMEOUT_MILLIS = 1_000;

  /** How a connection's instance is chosen. */
  public enum Balancing {
    ROUND_ROBIN,
    LEAST_CONNECTIONS;

    /**
     * Parses {@code round-robin} or {@code least-connections}.
     *
     * @throws InvalidSpecException for anything else
     */
    public static Balancing parse(String text) {
      return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "round-robin", "round_robin", "rr" -> ROUND_ROBIN;
        case "least-connections", "least_connections", "least-conn" -> LEAST_CONNECTIONS;
        default -> throw new InvalidSpecException("proxyBalancing", "'" + text + "' is not a balancing; use round-robin or least-connections");
      };
    }
  }

  /** Counters of one service's proxy on this node. */
  public record Stats(long connections, long failed, long replayed, int open) {}

  private final ServiceCatalog catalog;
  private final String bindHost;
  private final Balancing balancing;
  private final Clock clock;
  private final ExecutorService threads;
  private final Map<String, Listener> listeners = new ConcurrentHashMap<>();
  private final Map<String, String> problems = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> openByInstance = new ConcurrentHashMap<>();
  private final Map<String, Long> ejectedUntil = new ConcurrentHashMap<>();
  private final BlockingQueue<ByteBuffer> buffers = new ArrayBlockingQueue<>(256);
  private volatile boolean closed;

  public ServiceProxy(ServiceCatalog catalog, String bindHost, Balancing balancing, Clock clock) {
    this.catalog = catalog;
    this.bindHost = bindHost;
    this.balancing = balancing;
    this.clock = clock;
    // Two threads per proxied connection, copying each way: virtual where the JDK has them.
    this.threads = dev.hive.spi.IoThreads.perTask("hive-proxy");
  }

  /** Opens a listener for each service the catalog defines and closes those of services that are gone. */
  public synchronized void sync() {
    if (closed) {
      return;
    }
    Map<String, ServiceDefinition> defs = catalog.definitions();
    for (Map.Entry<String, Listener> e : new ArrayList<>(listeners.entrySet())) {
      ServiceDefinition def = defs.get(e.getKey());
      if (def == null || def.listenPort() != e.getValue().port) {
        e.getValue().close();
        listeners.remove(e.getKey());
      }
    }
    problems.keySet().removeIf(name -> !defs.containsKey(name));
    for (ServiceDefinition def : defs.values()) {
      if (listeners.containsKey(def.name())) {
        continue;
      }
      try {
        ServerSocketChannel server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(new InetSocketAddress(bindHost, def.listenPort()), 256);
        Listener listener = new Listener(def.name(), def.listenPort(), server);
        listeners.put(def.name(), listener);
        problems.remove(def.name());
        threads.execute(listener::accept);
        log.info("proxy for service {} listens on {}:{}", def.name(), bindHost, def.listenPort());
      } catch (IOException e) {
        String problem = "cannot listen on " + bindHost + ":" + def.listenPort() + ": " + e.getMessage();
        if (!problem.equals(problems.put(def.name(), problem))) {
          log.warn("proxy for service {} {}", def.name(), problem);
        }
      }
    }
  }

  /** Returns why this node's proxy for {@code service} does not listen, if it does not. */
  public Optional<String> problem(String service) {
    return Optional.ofNullable(problems.get(service));
  }

  /** Returns the port the proxy for {@code service} listens on here, if it does. */
  public Optional<Integer> listening(String service) {
    Listener l = listeners.get(service);
    return l == null ? Optional.empty() : Optional.of(l.server.socket().getLocalPort());
  }

  /** Returns the connections this node's proxies hold open to {@code instanceId}. */
  public int openConnections(String instanceId) {
    AtomicInteger n = openByInstance.get(instanceId);
    return n == null ? 0 : n.get();
  }

  /** Returns each service's counters on this node. */
  public Map<String, Stats> stats() {
    Map<String, Stats> result = new TreeMap<>();
    listeners.forEach((name, l) -> result.put(name, new Stats(l.connections.get(), l.failed.get(), l.replayed.get(), l.open.get())));
    return result;
  }

  /** Picks the instance for a new connection, skipping {@code tried} and recently refusing ones. */
  ServiceEndpoint choose(String service, Set<String> tried, AtomicLong cursor) {
    List<ServiceEndpoint> all = catalog.endpoints(service);
    long now = clock.millis();
    List<ServiceEndpoint> candidates = new ArrayList<>();
    for (ServiceEndpoint e : all) {
      if (!tried.contains(e.instance()) && ejectedUntil.getOrDefault(e.address(), 0L) <= now) {
        candidates.add(e);
      }
    }
    if (candidates.isEmpty()) {
      // All were refused lately: try them anyway rather than fail a connection that might work.
      all.stream().filter(e -> !tried.contains(e.instance())).forEach(candidates::add);
    }
    if (candidates.isEmpty()) {
      return null;
    }
    int start = (int) Math.floorMod(cursor.getAndIncrement(), (long) candidates.size());
    if (balancing == Balancing.ROUND_ROBIN) {
      return candidates.get(start);
    }
    ServiceEndpoint best = null;
    int fewest = Integer.MAX_VALUE;
    for (int i = 0; i < candidates.size(); i++) {
      ServiceEndpoint e = candidates.get((start + i) % candidates.size());
      int open = openConnections(e.instance());
      if (open < fewest) {
        best = e;
        fewest = open;
      }
    }
    return best;
  }

  private ByteBuffer buffer() {
    ByteBuffer b = buffers.poll();
    return b != null ? b.clear() : ByteBuffer.allocateDirect(BUFFER_BYTES);
  }

  private void release(ByteBuffer b) {
    buffers.offer(b);
  }

  @Override
  public synchronized void close() {
    closed = true;
    listeners.values().forEach(Listener::close);
    listeners.clear();
    threads.shutdownNow();
  }

  /** One service's listening socket on this node. */
  private final class Listener {
    final String service;
    final int port;
    final ServerSocketChannel server;
    final AtomicLong cursor = new AtomicLong();
    final AtomicLong connections = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong replayed = new AtomicLong();
    final AtomicInteger open = new AtomicInteger();
    final Set<SocketChannel> clients = ConcurrentHashMap.newKeySet();

    Listener(String service, int port, ServerSocketChannel server) {
      this.service = service;
      this.port = port;
      this.server = server;
    }

    void accept() {
      while (server.isOpen()) {
        try {
          SocketChannel client = server.accept();
          client.setOption(StandardSocketOptions.TCP_NODELAY, true);
          connections.incrementAndGet();
          clients.add(client);
          threads.execute(new Connection(this, client)::upstream);
        } catch (IOException e) {
          if (server.isOpen()) {
            log.debug("proxy for {}: accept failed: {}", service, e.getMessage());
          }
        } catch (java.util.concurrent.RejectedExecutionException e) {
          return;
        }
      }
    }

    void close() {
      try {
        server.close();
      } catch (IOException e) {
        log.debug("closing proxy for {}: {}", service, e.getMessage());
      }
      clients.forEach(ServiceProxy::closeQuietly);
    }
  }

  /**
   * One proxied connection: this thread copies client to instance, another instance to client.
   * Until the instance has answered anything, what the client wrote is kept, so the connection can
   * move to another instance if this one dies first.
   */
  private final class Connection {
    final Listener listener;
    final SocketChannel client;
    final Set<String> tried = new HashSet<>();
    final Object lock = new Object();
    SocketChannel backend;
    ServiceEndpoint endpoint;
    ByteArrayOutputStream sent = new ByteArrayOutputStream();
    boolean replayable = true;
    boolean clientDone;
    int attempts;

    Connection(Listener listener, SocketChannel client) {
      this.listener = listener;
      this.client = client;
    }

    void upstream() {
      listener.open.incrementAndGet();
      ByteBuffer buf = buffer();
      try {
        if (!connect()) {
          listener.failed.incrementAndGet();
          finish();
          return;
        }
        threads.execute(this::downstream);
        while (true) {
          buf.clear();
          int n = client.read(buf);
          synchronized (lock) {
            if (n < 0) {
              clientDone = true;
              shutdownOutput(backend);
              return;
            }
            buf.flip();
            if (sent != null) {
              if (sent.size() + n > REPLAY_LIMIT) {
                sent = null;
                replayable = false;
              } else {
                for (int i = buf.position(); i < buf.limit(); i++) {
                  sent.write(buf.get(i));
                }
              }
            }
            try {
              writeFully(backend, buf);
            } catch (IOException e) {
              // Before an answer, the downstream side sees the instance go and replays elsewhere.
              if (!replayable || sent == null) {
                throw e;
              }
            }
          }
        }
      } catch (IOException e) {
        finish();
      } catch (java.util.concurrent.RejectedExecutionException e) {
        finish();
      } finally {
        release(buf);
      }
    }

    void downstream() {
      ByteBuffer buf = buffer();
      boolean answered = false;
      try {
        while (true) {
          SocketChannel from;
          synchronized (lock) {
            from = backend;
          }
          if (from == null) {
            break;
          }
          buf.clear();
          int n;
          try {
            n = from.read(buf);
          } catch (IOException e) {
            n = -2;
          }
          if (n > 0) {
            if (!answered) {
              answered = true;
              synchronized (lock) {
                sent = null;
                replayable = false;
              }
            }
            buf.flip();
            writeFully(client, buf);
            continue;
          }
          if (!answered && retryElsewhere()) {
            listener.replayed.incrementAndGet();
            continue;
          }
          if (n == -1) {
            shutdownOutput(client);
          }
          break;
        }
      } catch (IOException e) {
        log.debug("proxy for {}: {}", listener.service, e.getMessage());
      } finally {
        release(buf);
        finish();
      }
    }

    /** The instance went before answering: send what the client wrote to another one. */
    private boolean retryElsewhere() {
      synchronized (lock) {
        if (!replayable || sent == null || attempts >= MAX_ATTEMPTS) {
          return false;
        }
        if (endpoint != null) {
          ejectedUntil.put(endpoint.address(), clock.millis() + EJECT_MILLIS);
        }
        closeBackend();
        try {
          if (!connect()) {
            return false;
          }
          writeFully(backend, ByteBuffer.wrap(sent.toByteArray()));
          if (clientDone) {
            shutdownOutput(backend);
          }
          return true;
        } catch (IOException e) {
          return false;
        }
      }
    }

    /** Connects to a healthy instance not tried yet; false when none accepts. */
    private boolean connect() {
      while (attempts < MAX_ATTEMPTS) {
        ServiceEndpoint chosen = choose(listener.service, tried, listener.cursor);
        if (chosen == null) {
          return false;
        }
        attempts++;
        tried.add(chosen.instance());
        try {
          SocketChannel channel = SocketChannel.open();
          try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.socket().connect(new InetSocketAddress(chosen.host(), chosen.port()), CONNECT_TIMEOUT_MILLIS);
          } catch (IOException e) {
            channel.close();
            throw e;
          }
          synchronized (lock) {
            backend = channel;
            endpoint = chosen;
          }
          openByInstance.computeIfAbsent(chosen.instance(), k -> new AtomicInteger()).incrementAndGet();
          return true;
        } catch (IOException e) {
          ejectedUntil.put(chosen.address(), clock.millis() + EJECT_MILLIS);
          log.debug("proxy for {}: {} refused: {}", listener.service, chosen.address(), e.getMessage());
        }
      }
      return false;
    }

    private void closeBackend() {
      if (backend != null) {
        closeQuietly(backend);
        AtomicInteger n = openByInstance.get(endpoint.instance());
        if (n != null && n.decrementAndGet() <= 0) {
          openByInstance.remove(endpoint.instance(), n);
        }
        backend = null;
        endpoint = null;
      }
    }

    private void finish() {
      synchronized (lock) {
        if (!client.isOpen() && backend == null) {
          return;
        }
        closeBackend();
        closeQuietly(client);
        listener.clients.remove(client);
        listener.open.decrementAndGet();
      }
    }
  }

  private static void writeFully(SocketChannel channel, ByteBuffer buf) throws IOException {
    if (channel == null) {
      throw new IOException("no instance connected");
    }
    while (buf.hasRemaining()) {
      channel.write(buf);
    }
  }

  private static void shutdownOutput(SocketChannel channel) {
    try {
      if (channel != null) {
        channel.shutdownOutput();
      }
    } catch (IOException e) {
      // The peer is gone: the other direction notices.
    }
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // Closing.
    }
  }
}
