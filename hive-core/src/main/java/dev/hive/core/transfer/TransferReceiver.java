package dev.hive.core.transfer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's receiving side. {@link #open} takes a manifest (checks the names, the free space, a
 * destination not already taken, an earlier attempt's manifest) and answers with the chunks it
 * already holds and a token; data streams then present the token and send chunks, each verified
 * and written in place; {@link #commit} checks the whole and renames it into place. Verified
 * chunks are recorded every {@code flushInterval}, after the data is forced to disk.
 *
 * <p>Plain (unencrypted) streams arrive on a TCP port of their own, opened at the first plain
 * transfer; the token, handed out over the encrypted transport, is what admits them.
 */
public final class TransferReceiver implements AutoCloseable {
  /** Changes a chunk as it arrives, before it is verified: how tests corrupt bytes "on the wire". */
  public interface ArrivalHook {
    void arrived(String transferId, int chunk, ByteBuffer data);
  }

  private static final Logger log = LoggerFactory.getLogger(TransferReceiver.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ReceiveRoot root;
  private final BufferPool buffers;
  private final String plainHost;
  private final int plainPortSetting;
  private final Map<String, ReceiveSession> byId = new ConcurrentHashMap<>();
  private final Map<String, ReceiveSession> byToken = new ConcurrentHashMap<>();
  private final ScheduledExecutorService flusher;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Long> firstBytes = new java.util.LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      return size() > 256;
    }
  };
  private volatile ServerSocketChannel plain;
  private volatile ArrivalHook hook;
  private volatile boolean closed;

  /**
   * A receiver into {@code root}; plain streams listen on {@code plainHost}:{@code plainPort} (0
   * for any port) when first needed.
   */
  public TransferReceiver(ReceiveRoot root, BufferPool buffers, String plainHost, int plainPort, java.time.Duration flushInterval) {
    this.root = root;
    this.buffers = buffers;
    this.plainHost = plainHost;
    this.plainPortSetting = plainPort;
    this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hive-transfer-flush");
      t.setDaemon(true);
      return t;
    });
    long every = Math.max(1, flushInterval.toMillis());
    flusher.scheduleWithFixedDelay(this::flushAll, every, every, TimeUnit.MILLISECONDS);
  }

  public ReceiveRoot root() {
    return root;
  }

  /** Sets a hook that sees every chunk before verification (tests). */
  public void arrivalHook(ArrivalHook hook) {
    this.hook = hook;
  }

  /**
   * Opens (or reopens) an incoming transfer.
   *
   * @param request {@code {"manifest": {...}, "plain": bool}}
   * @return {@code {"token", "verified": base64 bitset, "verifiedBytes", "plainPort"?}}
   * @throws InvalidSpecException when the manifest, the name or the space is refused
   */
  public byte[] open(String fromNode, byte[] request) {
    JsonNode r = parse(request);
    TransferManifest manifest;
    try {
      manifest = TransferManifest.decode(JSON.writeValueAsBytes(r.path("manifest")));
    } catch (IOException e) {
      throw new InvalidSpecException("transfer", "the transfer request has no manifest");
    }
    Path target = root.resolve(manifest.destination());
    if (java.nio.file.Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS) && manifest.overwrite() == dev.hive.api.OverwritePolicy.FAIL) {
      throw new InvalidSpecException("transfer", "'" + manifest.destination() + "' already exists on the receiver; choose another name (--as) or replace it (--overwrite)");
    }
    ReceiveSession session;
    synchronized (this) {
      for (ReceiveSession other : byId.values()) {
        if (other.manifest.destination().equals(manifest.destination()) && !other.manifest.id().equals(manifest.id())) {
          throw new InvalidSpecException("transfer", "transfer " + other.manifest.id() + " is receiving '" + manifest.destination() + "' now; choose another name");
        }
      }
      session = byId.get(manifest.id());
      if (session != null && !session.manifest.equals(manifest)) {
        throw new InvalidSpecException("transfer", "transfer " + manifest.id() + " was started with another manifest; send the file again as a new transfer");
      }
      if (session != null && !session.fromNode.equals(fromNode)) {
        throw new InvalidSpecException("transfer", "transfer " + manifest.id() + " belongs to node " + session.fromNode);
      }
      if (session == null) {
        byte[] t = new byte[DataProtocol.TOKEN_BYTES];
        random.nextBytes(t);
        session = ReceiveSession.open(root, manifest, fromNode, HexFormat.of().formatHex(t));
        try {
          root.checkSpace(manifest.bytesTotal() - session.verifiedBytes());
        } catch (RuntimeException e) {
          session.discardIfEmpty();
          throw e;
        }
        byId.put(manifest.id(), session);
        byToken.put(session.token, session);
      }
    }
    ObjectNode answer = JSON.createObjectNode();
    answer.put("token", session.token);
    answer.put("verified", Base64.getEncoder().encodeToString(session.verified().toByteArray()));
    answer.put("verifiedBytes", session.verifiedBytes());
    if (r.path("plain").asBoolean()) {
      answer.put("plainPort", plainPort());
    }
    return bytes(answer);
  }

  /**
   * Finishes a transfer whose chunks have all been acknowledged.
   *
   * @param request {@code {"id", "sha256"}}: the sender's root hash
   * @return {@code {"path", "sha256"}}
   * @throws InvalidSpecException if chunks are missing, the hashes differ or the destination is taken
   */
  public byte[] commit(String fromNode, byte[] request) {
    JsonNode r = parse(request);
    String id = r.path("id").asText();
    ReceiveSession session = byId.get(id);
    if (session == null || !session.fromNode.equals(fromNode)) {
      throw new InvalidSpecException("transfer", "no transfer " + id + " from node " + fromNode + " is open here");
    }
    Path target;
    try {
      target = session.commit(r.path("sha256").asText());
    } catch (FileAlreadyExistsException e) {
      throw new InvalidSpecException("transfer", "'" + session.manifest.destination() + "' appeared on the receiver during the transfer; choose another name or replace it");
    } catch (IOException e) {
      throw new HiveException("cannot move transfer " + id + " into place: " + e.getMessage(), e);
    }
    byId.remove(id);
    byToken.remove(session.token);
    log.info("received {} ({} bytes, sha256 {}) from {}", target, session.manifest.bytesTotal(), session.rootHash(), fromNode);
    ObjectNode answer = JSON.createObjectNode();
    answer.put("path", root.path().relativize(target).toString());
    answer.put("sha256", session.rootHash());
    return bytes(answer);
  }

  /** Returns the transport handler for the transfer topics ({@code hive.transfer.*}). */
  public dev.hive.spi.Transport.Handler handler() {
    return new dev.hive.spi.Transport.Handler() {
      @Override
      public byte[] handle(String from, String topic, byte[] payload) {
        return switch (topic) {
          case OutgoingTransfer.OPEN_TOPIC -> open(from, payload);
          case OutgoingTransfer.COMMIT_TOPIC -> commit(from, payload);
          default -> throw new HiveException("unknown transfer request " + topic);
        };
      }

      @Override
      public void handleChannel(String from, String topic, dev.hive.spi.Transport.Channel channel) throws IOException {
        serve(from, channel);
      }
    };
  }

  /** When the first chunk header of a recent transfer arrived here (System.nanoTime), 0 if none did. */
  public long firstByteNanos(String id) {
    synchronized (firstBytes) {
      return firstBytes.getOrDefault(id, 0L);
    }
  }

  /**
   * Serves one data stream to its end: hello, then chunks. A stream that breaks the protocol gets
   * an error and is closed; nothing else is affected.
   *
   * @param fromNode the authenticated sender, or null for a plain stream (the token admits it)
   */
  public void serve(String fromNode, ByteChannel channel) throws IOException {
    ByteBuffer hello = ByteBuffer.allocate(DataProtocol.HELLO_BYTES);
    DataProtocol.readFully(channel, hello);
    hello.flip();
    if (hello.getInt() != DataProtocol.MAGIC) {
      channel.close();
      return;
    }
    byte[] t = new byte[DataProtocol.TOKEN_BYTES];
    hello.get(t);
    ReceiveSession session = byToken.get(HexFormat.of().formatHex(t));
    if (session == null || (fromNode != null && !fromNode.equals(session.fromNode))) {
      DataProtocol.writeError(channel, "no open transfer has this token; open the transfer again");
      return;
    }
    session.streamOpened();
    ByteBuffer data = buffers.take(session.manifest.chunkSize());
    try {
      receiveChunks(session, channel, data);
    } catch (DataProtocol.ProtocolException | InvalidSpecException e) {
      log.warn("refused a data stream of transfer {}: {}", session.manifest.id(), e.getMessage());
      DataProtocol.writeError(channel, e.getMessage());
    } catch (EOFException e) {
      // The sender went away; what was verified is kept.
    } finally {
      buffers.give(data);
      session.streamClosed();
    }
  }

  private void receiveChunks(ReceiveSession session, ByteChannel channel, ByteBuffer data) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(DataProtocol.CHUNK_HEADER_BYTES);
    ByteBuffer reply = ByteBuffer.allocate(DataProtocol.REPLY_BYTES);
    byte[] expected = new byte[32];
    byte[] actual = new byte[32];
    MessageDigest sha = sha256();
    while (true) {
      header.clear().limit(1);
      DataProtocol.readFully(channel, header);
      byte type = header.get(0);
      if (type == DataProtocol.END) {
        return;
      }
      if (type != DataProtocol.CHUNK) {
        throw new DataProtocol.ProtocolException("unknown data frame type " + type);
      }
      synchronized (firstBytes) {
        firstBytes.putIfAbsent(session.manifest.id(), System.nanoTime());
      }
      header.limit(DataProtocol.CHUNK_HEADER_BYTES);
      DataProtocol.readFully(channel, header);
      header.position(1);
      int index = header.getInt();
      int length = header.getInt();
      header.get(expected);
      if (length < 0 || length > data.capacity()) {
        throw new DataProtocol.ProtocolException("chunk " + index + " claims " + length + " bytes; the manifest's chunks are at most " + data.capacity());
      }
      data.clear().limit(length);
      DataProtocol.readFully(channel, data);
      data.flip();
      ArrivalHook h = hook;
      if (h != null) {
        h.arrived(session.manifest.id(), index, data);
      }
      boolean ok = session.accept(index, expected, data, sha, actual);
      reply.clear();
      reply.put(ok ? DataProtocol.ACK : DataProtocol.NACK).putInt(index).flip();
      DataProtocol.writeFully(channel, reply);
    }
  }

  private synchronized int plainPort() {
    if (plain == null) {
      try {
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(plainHost, plainPortSetting), 64);
        plain = server;
        Thread t = new Thread(() -> acceptPlain(server), "hive-transfer-plain");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        throw new HiveException("cannot listen for plain transfer streams on " + plainHost + ":" + plainPortSetting + ": " + e.getMessage()
            + "; set hive.transfer.plain-port to a free port, or send with TLS", e);
      }
    }
    return ((InetSocketAddress) plain.socket().getLocalSocketAddress()).getPort();
  }

  private void acceptPlain(ServerSocketChannel server) {
    while (!closed) {
      SocketChannel c;
      try {
        c = server.accept();
        c.socket().setTcpNoDelay(true);
      } catch (IOException e) {
        if (!closed) {
          log.warn("accepting a plain transfer stream failed: {}", e.getMessage());
        }
        continue;
      }
      Thread t = new Thread(() -> {
        try (c) {
          serve(null, c);
        } catch (IOException e) {
          log.debug("a plain transfer stream ended: {}", e.getMessage());
        }
      }, "hive-transfer-in");
      t.setDaemon(true);
      t.start();
    }
  }

  private void flushAll() {
    for (ReceiveSession s : byId.values()) {
      try {
        s.flush();
      } catch (IOException e) {
        log.warn("cannot record the verified chunks of transfer {}: {}", s.manifest.id(), e.getMessage());
      }
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode parse(byte[] request) {
    try {
      JsonNode r = JSON.readTree(request);
      if (r == null || !r.isObject()) {
        throw new InvalidSpecException("transfer", "a transfer request must be a JSON object");
      }
      return r;
    } catch (IOException e) {
      throw new InvalidSpecException("transfer", "a transfer request is not JSON: " + e.getMessage());
    }
  }

  private static byte[] bytes(JsonNode o) {
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    closed = true;
    flusher.shutdownNow();
    flushAll();
    if (plain != null) {
      try {
        plain.close();
      } catch (IOException e) {
        // Closing.
      }
    }
    byId.values().forEach(ReceiveSession::close);
  }
}
