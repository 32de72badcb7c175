package dev.hive.discovery.libp2p;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.discovery.libp2p.host.Connection;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.Multistream;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.Varint;
import dev.hive.discovery.libp2p.wire.WireException;
import dev.hive.discovery.libp2p.wire.Yamux;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hive's messages over libp2p streams ({@value #PROTOCOL}): one yamux stream per request, bulk
 * stream or channel, on Noise-secured connections of the node's {@link Libp2pNode}.
 *
 * <p>Noise proves peer ids, not cluster membership, so every stream starts with a hello naming
 * the caller's node id and a MAC, under the key derived from the join token and cluster name, over
 * that node id and both peer ids; the callee answers with the same proof of its own before any
 * body is used. A proof bound to the two peer ids cannot be replayed on another connection.
 *
 * <p>On a stream: the caller sends {@code hello} (varint-prefixed protobuf: 1 kind, 2 node id, 3
 * topic, 4 MAC); the callee sends {@code accept} (1 status, 2 node id, 3 MAC, 4 message). A
 * request's payload follows the hello at once and ends with the caller's FIN; a bulk stream's body
 * and a channel's bytes wait for the accept. Requests and bulk streams end with a {@code result}
 * (1 status, 2 message) and the response body up to the callee's FIN.
 */
final class Libp2pTransport implements Transport {
  static final String PROTOCOL = "/hive/rpc/1.0.0";
  static final int KIND_REQUEST = 1;
  static final int KIND_STREAM = 2;
  static final int KIND_CHANNEL = 3;
  static final int OK = 0;
  static final int FAILED = 1;
  static final int REFUSED = 2;
  private static final int MAX_HEADER = 16 * 1024;
  /** Largest request payload or response body: what a message (not a bulk stream) may carry. */
  static final int MAX_BODY = 64 * 1024 * 1024;
  private static final int PIECE = 64 * 1024;
  private static final Logger log = LoggerFactory.getLogger(Libp2pTransport.class);

  private final Libp2pNode node;
  private final String nodeId;
  private final ExecutorService io;
  /** Who answered at each host:port, so that later requests reuse its connection. */
  private final Map<String, PeerId> peerAt = new ConcurrentHashMap<>();
  private final Map<String, Object> dialLocks = new ConcurrentHashMap<>();
  private volatile int listenPort = -1;
  private volatile boolean closed;

  Libp2pTransport(Libp2pNode node, String nodeId) {
    this.node = node;
    this.nodeId = nodeId;
    this.io = dev.hive.spi.IoThreads.perTask("hive-libp2p-rpc");
  }

  @Override
  public String name() {
    return "libp2p";
  }

  @Override
  public String localNodeId() {
    return nodeId;
  }

  @Override
  public int listen(String host, int port, Handler handler) {
    if (closed) {
      throw new UnavailableException("the transport is closed");
    }
    node.host.handle(PROTOCOL, (connection, stream) -> serve(connection, stream, handler));
    if (port != 0 && node.host.listensOn(port)) {
      // The node's libp2p port is the cluster port (hive.libp2p.port = --port): serve on it.
      return port;
    }
    try {
      listenPort = node.host.listen(host, port);
      return listenPort;
    } catch (IOException e) {
      node.host.removeHandler(PROTOCOL);
      throw new UnavailableException(e.getMessage().replace("--libp2p-port", "--port"), e);
    }
  }

  // ---------------------------------------------------------------- the callee

  private void serve(Connection connection, Yamux.Stream stream, Handler handler) throws IOException {
    Hello hello = Hello.decode(readHeader(stream.in(), "hello"));
    String from = hello.nodeId();
    String topic = hello.topic();
    String remotePeer = connection.remotePeer().toString();
    String localPeer = node.host.peerId().toString();
    if (!MessageDigest.isEqual(hello.proof(), node.mac("rpc", from, remotePeer, localPeer))) {
      log.warn("refused node '{}' (peer {}): its proof does not match this cluster's join token", from, remotePeer);
      writeHeader(stream, accept(REFUSED, "its proof does not match the join token of cluster node " + nodeId
          + " belongs to; check --token and --cluster", remotePeer));
      return;
    }
    if (closed) {
      writeHeader(stream, accept(FAILED, "node " + nodeId + " is shutting down", remotePeer));
      return;
    }
    byte[] accepted = accept(OK, "", remotePeer);
    switch (hello.kind()) {
      case KIND_REQUEST -> {
        // The caller sent its payload without waiting: the accept goes out with the answer.
        byte[] payload = readBody(stream.in());
        respond(stream, accepted, () -> handler.handle(from, topic, payload));
      }
      case KIND_STREAM -> {
        writeHeader(stream, accepted);
        InputStream body = stream.in();
        respond(stream, null, () -> {
          try {
            return handler.handleStream(from, topic, body);
          } finally {
            // The caller sends until its end whatever the handler read: take it, or its writes stall.
            body.transferTo(java.io.OutputStream.nullOutputStream());
          }
        });
      }
      default -> {
        writeHeader(stream, accepted);
        handler.handleChannel(from, topic, new StreamChannel(from, stream));
      }
    }
  }

  /** The first message on a stream: what the caller wants, who it is, and its proof. */
  record Hello(int kind, String nodeId, String topic, byte[] proof) {
    static Hello decode(byte[] message) throws WireException {
      ProtoReader r = new ProtoReader(message);
      int kind = 0;
      String nodeId = null;
      String topic = null;
      byte[] proof = null;
      for (int field; (field = r.next()) != -1; ) {
        switch (field) {
          case 1 -> kind = (int) r.uint();
          case 2 -> nodeId = r.string();
          case 3 -> topic = r.string();
          case 4 -> proof = r.bytes();
          default -> r.skip();
        }
      }
      if (kind < KIND_REQUEST || kind > KIND_CHANNEL || nodeId == null || topic == null || proof == null) {
        throw new WireException("hive rpc hello lacks its kind (1-3), node id, topic or proof");
      }
      return new Hello(kind, nodeId, topic, proof);
    }
  }

  private interface Answer {
    byte[] get() throws IOException;
  }

  /** Sends the result and the body, after {@code accept} if it is not sent yet, as one write with the FIN. */
  private static void respond(Yamux.Stream stream, byte[] accept, Answer answer) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    if (accept != null) {
      Varint.writePrefixed(out, accept);
    }
    try {
      byte[] body = answer.get();
      Varint.writePrefixed(out, new ProtoWriter().uint(1, OK).toByteArray());
      out.write(body == null ? new byte[0] : body);
    } catch (RuntimeException e) {
      Varint.writePrefixed(out, new ProtoWriter().uint(1, FAILED).string(2, message(e)).toByteArray());
    }
    stream.writeAndClose(out.toByteArray());
  }

  private byte[] accept(int status, String message, String remotePeer) {
    ProtoWriter w = new ProtoWriter().uint(1, status).string(2, nodeId);
    if (status == OK) {
      w.bytes(3, node.mac("rpc-answer", nodeId, node.host.peerId().toString(), remotePeer));
    }
    return w.string(4, message).toByteArray();
  }

  private static String message(Exception e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  // ---------------------------------------------------------------- the caller

  @Override
  public CompletableFuture<byte[]> request(DiscoveredPeer target, String topic, byte[] payload, Duration timeout) {
    if (payload.length > MAX_BODY) {
      return CompletableFuture.failedFuture(new HiveException("a request payload of " + payload.length + " bytes is over the limit of "
          + MAX_BODY + " bytes; send it with stream()"));
    }
    return call(target, topic, KIND_REQUEST, timeout, payload, null);
  }

  @Override
  public CompletableFuture<byte[]> stream(DiscoveredPeer target, String topic, InputStream body, Duration timeout) {
    return call(target, topic, KIND_STREAM, timeout, null, stream -> {
      byte[] piece = new byte[PIECE];
      for (int n; (n = body.read(piece)) > 0; ) {
        stream.out().write(piece, 0, n);
      }
      stream.closeWrite();
    });
  }

  private interface BodyWriter {
    void write(Yamux.Stream stream) throws IOException;
  }

  /** Sends a request ({@code payload}) or a bulk stream ({@code body}) and reads the result. */
  private CompletableFuture<byte[]> call(DiscoveredPeer target, String topic, int kind, Duration timeout, byte[] payload, BodyWriter body) {
    if (closed) {
      return CompletableFuture.failedFuture(new UnavailableException("the transport is closed"));
    }
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    AtomicReference<Yamux.Stream> open = new AtomicReference<>();
    io.execute(() -> {
      Yamux.Stream stream = null;
      try {
        Connection connection = connection(target, timeout);
        stream = connection.newStream();
        open.set(stream);
        if (kind == KIND_REQUEST) {
          // Proposal, hello and payload go out as one frame with the FIN (one round trip); a
          // refusal of the protocol or of the hello arrives after it.
          stream.writeAndClose(opening(kind, topic, connection, payload));
          confirmProtocol(stream, target);
          readAccept(stream, connection, target);
        } else {
          stream.out().write(opening(kind, topic, connection, new byte[0]));
          stream.out().flush();
          confirmProtocol(stream, target);
          readAccept(stream, connection, target);
          body.write(stream);
        }
        result.complete(readResult(stream, target, topic));
      } catch (HiveException e) {
        result.completeExceptionally(e);
      } catch (IOException | RuntimeException e) {
        result.completeExceptionally(unreachable(target, e));
      } finally {
        if (stream != null) {
          stream.close();
        }
      }
    });
    return withTimeout(result, target, topic, timeout).whenComplete((v, e) -> {
      Yamux.Stream stream = open.get();
      if (e != null && stream != null) {
        stream.reset();
      }
    });
  }

  @Override
  public CompletableFuture<Channel> openChannel(DiscoveredPeer target, String topic, Duration timeout) {
    if (closed) {
      return CompletableFuture.failedFuture(new UnavailableException("the transport is closed"));
    }
    return CompletableFuture.supplyAsync(() -> {
      Yamux.Stream stream = null;
      try {
        Connection connection = connection(target, timeout);
        stream = connection.newStream();
        stream.out().write(opening(KIND_CHANNEL, topic, connection, new byte[0]));
        stream.out().flush();
        confirmProtocol(stream, target);
        String peer = readAccept(stream, connection, target);
        return (Channel) new StreamChannel(peer, stream);
      } catch (HiveException e) {
        if (stream != null) {
          stream.reset();
        }
        throw e;
      } catch (IOException | RuntimeException e) {
        if (stream != null) {
          stream.reset();
        }
        throw unreachable(target, e);
      }
    }, io).orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The caller's first bytes on a new stream: the protocol proposal, the hello, and what follows it. */
  private byte[] opening(int kind, String topic, Connection connection, byte[] payload) throws IOException {
    byte[] proof = node.mac("rpc", nodeId, node.host.peerId().toString(), connection.remotePeer().toString());
    byte[] hello = new ProtoWriter().uint(1, kind).string(2, nodeId).string(3, topic).bytes(4, proof).toByteArray();
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(hello.length + payload.length + 64);
    out.writeBytes(Multistream.propose(PROTOCOL));
    Varint.writePrefixed(out, hello);
    out.writeBytes(payload);
    return out.toByteArray();
  }

  /** Reads the callee's accept, checks its proof, and returns its node id. */
  private String readAccept(Yamux.Stream stream, Connection connection, DiscoveredPeer target) throws IOException {
    ProtoReader accept = new ProtoReader(readHeader(stream.in(), "accept"));
    int status = -1;
    String peer = null;
    byte[] proof = null;
    String message = "";
    for (int field; (field = accept.next()) != -1; ) {
      switch (field) {
        case 1 -> status = (int) accept.uint();
        case 2 -> peer = accept.string();
        case 3 -> proof = accept.bytes();
        case 4 -> message = accept.string();
        default -> accept.skip();
      }
    }
    if (status == REFUSED) {
      throw new UnavailableException("the node at " + target.host() + ":" + target.port() + " refused this node: " + message);
    }
    if (status != OK) {
      throw new UnavailableException("the node at " + target.host() + ":" + target.port() + " is not available: " + message);
    }
    if (peer == null || proof == null
        || !MessageDigest.isEqual(proof, node.mac("rpc-answer", peer, connection.remotePeer().toString(), node.host.peerId().toString()))) {
      throw new UnavailableException("node " + target.nodeId() + " at " + target.host() + ":" + target.port()
          + " did not prove it holds this cluster's join token: it is not a member of this cluster");
    }
    return peer;
  }

  private static byte[] readResult(Yamux.Stream stream, DiscoveredPeer target, String topic) throws IOException {
    ProtoReader result = new ProtoReader(readHeader(stream.in(), "result"));
    int status = -1;
    String message = "";
    for (int field; (field = result.next()) != -1; ) {
      switch (field) {
        case 1 -> status = (int) result.uint();
        case 2 -> message = result.string();
        default -> result.skip();
      }
    }
    if (status == FAILED) {
      throw new HiveException(message);
    }
    if (status != OK) {
      throw new WireException("result status " + status + " is not 0 (ok) or 1 (failed)");
    }
    return readBody(stream.in());
  }

  private Connection connection(DiscoveredPeer target, Duration timeout) throws IOException {
    String key = target.host() + ":" + target.port();
    Optional<Connection> cached = cached(key);
    if (cached.isPresent()) {
      return cached.get();
    }
    // One dial per address at a time: a burst of first requests shares the connection.
    synchronized (dialLocks.computeIfAbsent(key, k -> new Object())) {
      cached = cached(key);
      if (cached.isPresent()) {
        return cached.get();
      }
      Multiaddr address = Multiaddr.tcp(InetAddress.getByName(target.host()).getHostAddress(), target.port());
      // Half the time the node asked for has dialed this one already (its own request, gossip,
      // the DHT): use that connection rather than make a second one with its own handshake.
      Connection connection = node.host.connectionListeningOn(address).orElse(null);
      if (connection == null) {
        connection = node.host.dial(null, List.of(address), timeout);
      }
      peerAt.put(key, connection.remotePeer());
      return connection;
    }
  }

  private Optional<Connection> cached(String key) {
    PeerId peer = peerAt.get(key);
    return peer == null ? Optional.empty() : node.host.connection(peer);
  }

  private static void confirmProtocol(Yamux.Stream stream, DiscoveredPeer target) throws IOException {
    try {
      Multistream.confirm(stream.in(), PROTOCOL);
    } catch (Multistream.NotSupportedException e) {
      throw new UnavailableException("the libp2p peer at " + target.host() + ":" + target.port() + " does not serve " + PROTOCOL
          + ": it is not a Hive node started with --transport libp2p");
    }
  }

  private static CompletableFuture<byte[]> withTimeout(CompletableFuture<byte[]> f, DiscoveredPeer target, String topic, Duration timeout) {
    return f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionallyCompose(e -> {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof TimeoutException) {
        return CompletableFuture.failedFuture(new HiveException(topic + " to " + target.nodeId() + " at " + target.host() + ":" + target.port()
            + " timed out after " + timeout.toMillis() + " ms"));
      }
      return CompletableFuture.failedFuture(cause);
    });
  }

  private static HiveException unreachable(DiscoveredPeer target, Throwable e) {
    return new UnavailableException("cannot reach node " + target.nodeId() + " at " + target.host() + ":" + target.port() + " over libp2p: " + message((Exception) e), e);
  }

  // ---------------------------------------------------------------- framing

  private static byte[] readHeader(InputStream in, String what) throws IOException {
    byte[] header = Varint.readPrefixed(in, MAX_HEADER);
    if (header == null) {
      throw new WireException("stream ended before the " + what);
    }
    return header;
  }

  private static void writeHeader(Yamux.Stream stream, byte[] header) throws IOException {
    Varint.writePrefixed(stream.out(), header);
  }

  /** Reads to the peer's FIN, refusing more than {@link #MAX_BODY}. */
  private static byte[] readBody(InputStream in) throws IOException {
    byte[] body = in.readNBytes(MAX_BODY);
    if (body.length == MAX_BODY && in.read() >= 0) {
      throw new WireException("a message body is over the limit of " + MAX_BODY + " bytes; send it as a stream");
    }
    return body;
  }

  /** A channel on one yamux stream: FIN ends it; yamux's own frames bound each write. */
  private static final class StreamChannel implements Channel {
    private final String peer;
    private final Yamux.Stream stream;
    private final byte[] readArray = new byte[PIECE];
    private final byte[] writeArray = new byte[PIECE];
    private volatile boolean open = true;

    StreamChannel(String peer, Yamux.Stream stream) {
      this.peer = peer;
      this.stream = stream;
    }

    @Override
    public String peerNodeId() {
      return peer;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      int n = stream.in().read(readArray, 0, Math.min(PIECE, dst.remaining()));
      if (n > 0) {
        dst.put(readArray, 0, n);
      }
      return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      int total = src.remaining();
      if (src.hasArray()) {
        stream.out().write(src.array(), src.arrayOffset() + src.position(), total);
        src.position(src.limit());
        return total;
      }
      while (src.hasRemaining()) {
        int n = Math.min(PIECE, src.remaining());
        src.get(writeArray, 0, n);
        stream.out().write(writeArray, 0, n);
      }
      return total;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      open = false;
      stream.close();
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (listenPort >= 0) {
      node.host.removeHandler(PROTOCOL);
      node.host.stopListening(listenPort);
    }
    io.shutdownNow();
    node.release();
  }
}
