package dev.hive.core.transport.tcp;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.TlsContexts;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code tcp} transport: mutual TLS 1.3 on one port, {@link Frame}s inside. Requests to a peer
 * share one connection, multiplexed by request id; a stream gets a connection of its own. A
 * member that connects offers its connection back ({@value #DUPLEX_TOPIC}), and the peer sends
 * its own requests to that member on it instead of making a second connection: SWIM has every
 * node talk to every other, so this halves a cluster's TLS handshakes and reading threads. A peer
 * that is not a member is refused at the handshake, except a joiner proving the token, which may
 * send only {@value #JOIN_TOPIC}. Bytes that are not TLS, or frames that break the protocol, drop
 * the connection and nothing else.
 */
public final class TcpTransport implements Transport {
  /** The only topic a joiner (a node with the token but no certificate yet) may send. */
  public static final String JOIN_TOPIC = "hive.join";
  /** The prefix of {@code fromNode} for a joiner. */
  public static final String JOINER_PREFIX = "joiner:";
  /**
   * The first request on a member's connection: "send me your requests on this connection too".
   * A peer of an earlier version answers it with an error and never sends requests back.
   */
  static final String DUPLEX_TOPIC = "tcp.duplex";

  private static final Logger log = LoggerFactory.getLogger(TcpTransport.class);
  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
  private static final int STREAM_CHUNK = 64 * 1024;
  /**
   * How long a connection may stay silent while a request on it times out before it is closed and
   * the next request dials again. A partition that drops packets leaves a connection open and
   * silent, and TCP resumes it only at its next retransmission: 21 s after a 30 s cut, 85 s after
   * a 120 s one. A cut-off member that kept syncing with its seed on such a connection stayed DEAD
   * in the others' view for minutes after the heal (PartitionIT).
   */
  static final Duration SILENCE_LIMIT = Duration.ofSeconds(2);

  private final String nodeId;
  private final SSLContext tls;
  private final ExecutorService handlers;
  private final ExecutorService io;
  private final Map<String, ClientConnection> connections = new ConcurrentHashMap<>();
  /** Connections members made to this node and offered back, by the member's node id. */
  private final Map<String, Link> offeredBack = new ConcurrentHashMap<>();
  /** False for a joiner's transport: it may send the join request and nothing else. */
  private final boolean member;
  private volatile Handler handler;
  /** One lock per address while a connection to it is made. */
  private final Map<String, Object> connecting = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private volatile ServerSocket server;
  private volatile boolean closed;

  /**
   * A member's transport, from its TLS context ({@code TlsContexts.member}: its certificate, the
   * cluster CA, and the token to admit joiners).
   */
  public TcpTransport(String nodeId, SSLContext memberTls) {
    this(nodeId, memberTls, true);
  }

  /** A joiner's transport, which sends the join request and nothing else. */
  public static TcpTransport joiner(String nodeId, SSLContext joinerTls) {
    return new TcpTransport(nodeId, joinerTls, false);
  }

  private TcpTransport(String nodeId, SSLContext tls, boolean member) {
    this.nodeId = nodeId;
    this.tls = tls;
    this.member = member;
    this.handlers = Executors.newFixedThreadPool(16, daemon("hive-tcp-handler"));
    // A thread per connection, reading frames: virtual where the JDK has them, so that a node's
    // platform threads do not grow with its peers.
    this.io = dev.hive.spi.IoThreads.perTask("hive-tcp-io");
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  @Override
  public String name() {
    return "tcp";
  }

  @Override
  public String localNodeId() {
    return nodeId;
  }

  @Override
  public int listen(String host, int port, Handler handler) {
    try {
      SSLServerSocket socket = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket();
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getByName(host), port), 128);
      socket.setNeedClientAuth(true);
      socket.setEnabledProtocols(new String[] {"TLSv1.3"});
      server = socket;
      this.handler = handler;
      io.execute(() -> acceptLoop(socket, handler));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UnavailableException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
          + (e instanceof java.net.BindException ? "; the port is in use -- choose another with --port" : ""), e);
    }
  }

  private void acceptLoop(ServerSocket socket, Handler handler) {
    while (!closed) {
      Socket s;
      try {
        s = socket.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("accept failed: {}", e.getMessage());
        }
        continue;
      }
      try {
        io.execute(() -> serve((SSLSocket) s, handler));
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // Closed between the accept and here.
        closeQuietly(s);
        return;
      }
    }
  }

  /** One inbound connection: handshake, identify, then serve frames until it closes. */
  private void serve(SSLSocket socket, Handler handler) {
    String peer = socket.getRemoteSocketAddress().toString();
    String from = null;
    OfferedLink back = null;
    try (socket) {
      socket.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
      socket.startHandshake();
      socket.setSoTimeout(0);
      socket.setTcpNoDelay(true);
      Certificate[] chain = socket.getSession().getPeerCertificates();
      X509Certificate cert = (X509Certificate) chain[0];
      boolean member = TlsContexts.isMember(socket.getSession());
      from = member ? ClusterPki.nodeIdOf(cert) : JOINER_PREFIX + ClusterPki.nodeIdOf(cert);
      DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
      Object writeLock = new Object();
      while (!closed) {
        Frame frame = Frame.read(in);
        if (back != null) {
          back.heard();
        }
        if (!member && !(frame.type() == Frame.REQUEST && frame.topic().equals(JOIN_TOPIC))) {
          log.warn("dropping joiner {} at {}: it sent {} before it was admitted", from, peer, frame.topic());
          return;
        }
        if (frame.type() == Frame.REQUEST && frame.topic().equals(DUPLEX_TOPIC)) {
          back = new OfferedLink(from, out, writeLock, socket);
          offeredBack.put(from, back);
          synchronized (writeLock) {
            Frame.of(Frame.RESPONSE, frame.id(), frame.topic(), null).write(out);
            out.flush();
          }
        } else if ((frame.type() == Frame.RESPONSE || frame.type() == Frame.ERROR) && back != null) {
          back.answered(frame);
        } else if (frame.type() == Frame.REQUEST) {
          String sender = from;
          handlers.execute(() -> answer(handler, sender, frame, out, writeLock, socket));
        } else if (frame.type() == Frame.STREAM_OPEN) {
          // A stream owns its connection: read it here, to its end, then answer.
          Frame reply;
          StreamBody body = new StreamBody(in);
          try {
            byte[] result = handler.handleStream(from, frame.topic(), body);
            reply = Frame.of(Frame.RESPONSE, frame.id(), frame.topic(), result);
          } catch (HiveException e) {
            reply = Frame.of(Frame.ERROR, frame.id(), frame.topic(), message(e));
          }
          body.close();
          synchronized (writeLock) {
            reply.write(out);
            out.flush();
          }
        } else if (frame.type() == Frame.CHANNEL_OPEN) {
          // The handler owns the connection from here; buffered input may already hold its first bytes.
          handler.handleChannel(from, frame.topic(), new StreamChannel(from, in, socket.getOutputStream(), socket));
          return;
        } else {
          throw new Frame.ProtocolException("unexpected frame type " + frame.type() + " from a client");
        }
      }
    } catch (EOFException | SocketException e) {
      // The peer went away.
    } catch (SSLException e) {
      log.info("refused a connection from {}: {}", peer, e.getMessage());
    } catch (IOException e) {
      log.warn("dropped the connection from {}: {}", peer, e.getMessage());
    } catch (RuntimeException e) {
      log.warn("dropped the connection from {}: {}", peer, e.toString());
    } finally {
      if (back != null) {
        offeredBack.remove(from, back);
        back.fail(new EOFException("the connection from " + from + " closed"));
      }
    }
  }

  private void answer(Handler handler, String from, Frame request, DataOutputStream out, Object writeLock, Socket socket) {
    Frame reply;
    try {
      byte[] result = handler.handle(from, request.topic(), request.payload());
      reply = Frame.of(Frame.RESPONSE, request.id(), request.topic(), result);
    } catch (RuntimeException e) {
      if (!(e instanceof HiveException)) {
        log.warn("handler for {} failed", request.topic(), e);
      }
      reply = Frame.of(Frame.ERROR, request.id(), request.topic(), message(e));
    }
    try {
      synchronized (writeLock) {
        reply.write(out);
        out.flush();
      }
    } catch (IOException e) {
      closeQuietly(socket);
    }
  }

  private static byte[] message(Exception e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return m.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletableFuture<byte[]> request(DiscoveredPeer target, String topic, byte[] payload, Duration timeout) {
    if (closed) {
      return CompletableFuture.failedFuture(new UnavailableException("the transport is closed"));
    }
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    Link[] sentOn = new Link[1];
    long[] sentAt = new long[1];
    io.execute(() -> {
      try {
        Link c = connection(target, timeout);
        synchronized (sentOn) {
          sentOn[0] = c;
          sentAt[0] = System.nanoTime();
        }
        c.send(Frame.of(Frame.REQUEST, ids.incrementAndGet(), topic, payload), result);
      } catch (IOException | RuntimeException e) {
        result.completeExceptionally(unreachable(target, e));
      }
    });
    // Before the caller hears of the timeout, so that its next request does not take the same connection.
    return withTimeout(result, target, topic, timeout, () -> {
      synchronized (sentOn) {
        if (sentOn[0] != null) {
          sentOn[0].unansweredSince(sentAt[0]);
        }
      }
    });
  }

  private static CompletableFuture<byte[]> withTimeout(CompletableFuture<byte[]> f, DiscoveredPeer target, String topic, Duration timeout) {
    return withTimeout(f, target, topic, timeout, () -> { });
  }

  private static CompletableFuture<byte[]> withTimeout(CompletableFuture<byte[]> f, DiscoveredPeer target, String topic, Duration timeout,
      Runnable onTimeout) {
    return f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionallyCompose(e -> {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof TimeoutException) {
        onTimeout.run();
        return CompletableFuture.failedFuture(new HiveException(topic + " to " + target.nodeId() + " at " + target.host() + ":" + target.port()
            + " timed out after " + timeout.toMillis() + " ms"));
      }
      return CompletableFuture.failedFuture(cause);
    });
  }

  private static HiveException unreachable(DiscoveredPeer target, Throwable e) {
    if (e instanceof HiveException h) {
      return h;
    }
    String why = e instanceof SSLException ? "it refused this node's certificate or is not a member of this cluster (" + e.getMessage() + ")" : e.toString();
    return new UnavailableException("cannot reach node " + target.nodeId() + " at " + target.host() + ":" + target.port() + ": " + why, e);
  }

  @Override
  public CompletableFuture<byte[]> stream(DiscoveredPeer target, String topic, InputStream body, Duration timeout) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    io.execute(() -> {
      try (SSLSocket socket = connect(target, timeout)) {
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), STREAM_CHUNK + 64));
        DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        long id = ids.incrementAndGet();
        Frame.of(Frame.STREAM_OPEN, id, topic, null).write(out);
        byte[] chunk = new byte[STREAM_CHUNK];
        int n;
        while ((n = body.read(chunk)) > 0) {
          Frame.of(Frame.STREAM_DATA, id, topic, java.util.Arrays.copyOf(chunk, n)).write(out);
        }
        Frame.of(Frame.STREAM_END, id, topic, null).write(out);
        out.flush();
        Frame reply = Frame.read(in);
        complete(result, reply);
      } catch (IOException | RuntimeException e) {
        result.completeExceptionally(unreachable(target, e));
      }
    });
    return withTimeout(result, target, topic, timeout);
  }

  @Override
  public CompletableFuture<Channel> openChannel(DiscoveredPeer target, String topic, Duration timeout) {
    if (closed) {
      return CompletableFuture.failedFuture(new UnavailableException("the transport is closed"));
    }
    return CompletableFuture.supplyAsync(() -> {
      try {
        SSLSocket socket = connect(target, timeout);
        try {
          DataOutputStream out = new DataOutputStream(socket.getOutputStream());
          Frame.of(Frame.CHANNEL_OPEN, ids.incrementAndGet(), topic, null).write(out);
          out.flush();
          return new StreamChannel(target.nodeId(), socket.getInputStream(), socket.getOutputStream(), socket);
        } catch (IOException e) {
          closeQuietly(socket);
          throw e;
        }
      } catch (IOException | RuntimeException e) {
        throw unreachable(target, e);
      }
    }, io);
  }

  /**
   * A channel over a TLS socket's streams. TLS needs arrays, so bytes pass through one array per
   * direction, allocated once: no garbage per read or write.
   */
  private static final class StreamChannel implements Channel {
    private static final int PIECE = 64 * 1024;
    private final String peer;
    private final InputStream in;
    private final java.io.OutputStream out;
    private final Socket socket;
    private final byte[] readArray = new byte[PIECE];
    private final byte[] writeArray = new byte[PIECE];
    private volatile boolean open = true;

    StreamChannel(String peer, InputStream in, java.io.OutputStream out, Socket socket) {
      this.peer = peer;
      this.in = in;
      this.out = out;
      this.socket = socket;
    }

    @Override
    public String peerNodeId() {
      return peer;
    }

    @Override
    public int read(java.nio.ByteBuffer dst) throws IOException {
      int n = in.read(readArray, 0, Math.min(PIECE, dst.remaining()));
      if (n > 0) {
        dst.put(readArray, 0, n);
      }
      return n;
    }

    @Override
    public int write(java.nio.ByteBuffer src) throws IOException {
      int total = src.remaining();
      while (src.hasRemaining()) {
        int n = Math.min(PIECE, src.remaining());
        src.get(writeArray, 0, n);
        out.write(writeArray, 0, n);
      }
      out.flush();
      return total;
    }

    @Override
    public boolean isOpen() {
      return open && !socket.isClosed();
    }

    @Override
    public void close() {
      open = false;
      closeQuietly(socket);
    }
  }

  private static void complete(CompletableFuture<byte[]> result, Frame reply) {
    if (reply.type() == Frame.RESPONSE) {
      result.complete(reply.payload());
    } else {
      result.completeExceptionally(new HiveException(new String(reply.payload(), StandardCharsets.UTF_8)));
    }
  }

  private SSLSocket connect(DiscoveredPeer target, Duration timeout) throws IOException {
    SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket();
    try {
      socket.connect(new InetSocketAddress(target.host(), target.port()), (int) Math.max(1, Math.min(timeout.toMillis(), 10_000)));
      socket.setEnabledProtocols(new String[] {"TLSv1.3"});
      socket.setTcpNoDelay(true);
      socket.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
      socket.startHandshake();
      socket.setSoTimeout(0);
      return socket;
    } catch (IOException e) {
      closeQuietly(socket);
      throw e;
    }
  }

  /**
   * Returns the open connection to {@code target}, making it if there is none. Callers for one
   * address wait for one connection to be made; callers for other addresses do not wait at all:
   * a connect or handshake to a peer that does not answer takes up to its timeout, and once held
   * every new connection of the node behind it (a client cut off from its servers reached none
   * of them for seconds after the heal).
   */
  private Link connection(DiscoveredPeer target, Duration timeout) throws IOException {
    String key = target.host() + ":" + target.port();
    ClientConnection open = connections.get(key);
    if (open != null && open.open) {
      return open;
    }
    Link back = offeredBack.get(target.nodeId());
    if (back != null && back.open) {
      return back;
    }
    synchronized (connecting.computeIfAbsent(key, k -> new Object())) {
      ClientConnection c = connections.get(key);
      if (c != null && c.open) {
        return c;
      }
      c = new ClientConnection(key, connect(target, timeout));
      connections.put(key, c);
      ClientConnection started = c;
      io.execute(started::readLoop);
      if (member && handler != null) {
        // Whatever the answer: an earlier version's error is as good as a yes, it just never asks.
        c.send(Frame.of(Frame.REQUEST, ids.incrementAndGet(), DUPLEX_TOPIC, null), new CompletableFuture<>());
      }
      return c;
    }
  }

  /** A connection requests are sent on, multiplexed by request id. */
  private abstract static class Link {
    final Map<Long, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();
    volatile boolean open = true;
    /** When a frame last arrived on this connection, from {@link System#nanoTime()}. */
    volatile long lastHeard = System.nanoTime();

    void heard() {
      lastHeard = System.nanoTime();
    }

    /** A request sent at {@code sentAt} timed out: closes this connection if nothing came since, for long enough. */
    void unansweredSince(long sentAt) {
      long heard = lastHeard;
      long silence = System.nanoTime() - heard;
      if (heard - sentAt < 0 && silence >= SILENCE_LIMIT.toNanos()) {
        fail(new IOException("nothing arrived on it for " + silence / 1_000_000 + " ms while a request waited; the peer or the path to it is gone"));
      }
    }

    abstract void write(Frame frame) throws IOException;

    void send(Frame frame, CompletableFuture<byte[]> result) throws IOException {
      pending.put(frame.id(), result);
      result.whenComplete((r, e) -> pending.remove(frame.id()));
      try {
        write(frame);
      } catch (IOException e) {
        fail(e);
        throw e;
      }
    }

    void answered(Frame reply) {
      CompletableFuture<byte[]> f = pending.remove(reply.id());
      if (f != null) {
        complete(f, reply);
      }
    }

    void fail(IOException e) {
      open = false;
      UnavailableException failure = new UnavailableException("the connection " + this + " closed: " + e.getMessage(), e);
      pending.values().forEach(f -> f.completeExceptionally(failure));
      pending.clear();
    }
  }

  /** A connection a member made to this node and offered back: requests to it go out on it. */
  private static final class OfferedLink extends Link {
    final String peer;
    final DataOutputStream out;
    final Object writeLock;
    final Socket socket;

    OfferedLink(String peer, DataOutputStream out, Object writeLock, Socket socket) {
      this.peer = peer;
      this.out = out;
      this.writeLock = writeLock;
      this.socket = socket;
    }

    @Override
    void write(Frame frame) throws IOException {
      synchronized (writeLock) {
        frame.write(out);
        out.flush();
      }
    }

    @Override
    void fail(IOException e) {
      super.fail(e);
      closeQuietly(socket);
    }

    @Override
    public String toString() {
      return "from " + peer;
    }
  }

  /**
   * An outbound connection shared by every request to one address; once offered back, it also
   * carries the peer's requests to this node, answered here.
   */
  private final class ClientConnection extends Link {
    final String key;
    final SSLSocket socket;
    final DataOutputStream out;
    final DataInputStream in;

    ClientConnection(String key, SSLSocket socket) throws IOException {
      this.key = key;
      this.socket = socket;
      this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
      this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    }

    @Override
    void write(Frame frame) throws IOException {
      synchronized (this) {
        frame.write(out);
        out.flush();
      }
    }

    void readLoop() {
      try {
        String peer = null;
        while (open) {
          Frame frame = Frame.read(in);
          heard();
          if (frame.type() == Frame.REQUEST && member && handler != null) {
            if (peer == null) {
              // The handshake checked that the server's certificate is the cluster CA's.
              peer = ClusterPki.nodeIdOf((X509Certificate) socket.getSession().getPeerCertificates()[0]);
            }
            String from = peer;
            handlers.execute(() -> answer(handler, from, frame, out, this, socket));
          } else if (frame.type() == Frame.RESPONSE || frame.type() == Frame.ERROR) {
            answered(frame);
          } else {
            throw new Frame.ProtocolException("unexpected frame type " + frame.type() + " from a server");
          }
        }
      } catch (IOException e) {
        fail(e);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        fail(new EOFException("the transport closed"));
      }
    }

    @Override
    void fail(IOException e) {
      super.fail(e);
      connections.remove(key, this);
      closeQuietly(socket);
    }

    @Override
    public String toString() {
      return "to " + key;
    }
  }

  /** The body of an inbound stream: the DATA frames' payloads, up to the END frame. */
  static final class StreamBody extends InputStream {
    private final DataInputStream in;
    private byte[] current = new byte[0];
    private int position;
    private boolean ended;

    StreamBody(DataInputStream in) {
      this.in = in;
    }

    private boolean fill() throws IOException {
      while (!ended && position >= current.length) {
        Frame f = Frame.read(in);
        if (f.type() == Frame.STREAM_END) {
          ended = true;
        } else if (f.type() == Frame.STREAM_DATA) {
          current = f.payload();
          position = 0;
        } else {
          throw new Frame.ProtocolException("frame type " + f.type() + " inside a stream");
        }
      }
      return position < current.length;
    }

    @Override
    public int read() throws IOException {
      return fill() ? current[position++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, current.length - position);
      System.arraycopy(current, position, b, off, n);
      position += n;
      return n;
    }

    @Override
    public void close() throws IOException {
      // Drain, so that the connection is ready for the response.
      while (fill()) {
        position = current.length;
      }
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // Closing.
    }
  }

  @Override
  public void close() {
    closed = true;
    if (server != null) {
      try {
        server.close();
      } catch (IOException e) {
        // Closing.
      }
    }
    connections.values().forEach(c -> c.fail(new EOFException("transport closed")));
    offeredBack.values().forEach(c -> c.fail(new EOFException("transport closed")));
    handlers.shutdownNow();
    io.shutdownNow();
  }
}
