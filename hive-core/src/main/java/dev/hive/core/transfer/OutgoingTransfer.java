package dev.hive.core.transfer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.OverwritePolicy;
import dev.hive.api.Subscription;
import dev.hive.api.Transfer;
import dev.hive.api.TransferOptions;
import dev.hive.api.TransferState;
import dev.hive.api.TransferStatus;
import dev.hive.spi.Transport;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sending side of one transfer. An attempt opens the transfer on the receiver (learning which
 * chunks it already holds), then N streams each take the next chunk, read it, hash it, and send
 * it with its hash -- plain streams hand the file's bytes to the socket with {@code transferTo};
 * TLS streams write the buffer they hashed. A reader per stream takes the receiver's verdicts: a
 * refused chunk goes back to the queue. When every chunk is verified the sender asks the receiver
 * to commit, comparing the hash over all chunk hashes.
 *
 * <p>The record ({@code <id>.json}) and the chunk hashes sent ({@code <id>.hashes}) are kept in
 * the store directory, so a transfer can be listed and resumed after this node restarts.
 */
public final class OutgoingTransfer implements Transfer {
  static final String OPEN_TOPIC = "hive.transfer.open";
  static final String COMMIT_TOPIC = "hive.transfer.commit";
  /** The transport topic of encrypted data streams. */
  public static final String DATA_TOPIC = "hive.transfer.data";
  private static final int MAX_ATTEMPTS_PER_CHUNK = 4;
  private static final long PROGRESS_INTERVAL_MS = 250;
  private static final Logger log = LoggerFactory.getLogger(OutgoingTransfer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String id;
  private final Path source;
  private final List<Path> paths;
  private final List<long[]> fingerprint;
  private final TransferManifest manifest;
  private final TransferManifest.Layout layout;
  private final TransferOptions options;
  private final String sourceNode;
  private final String targetNode;
  private final TransferLink link;
  private final Path storeDir;
  private final BufferPool buffers;
  private final Clock clock;
  private final byte[] hashes;
  private final AtomicLong bytesOnWire = new AtomicLong();
  private final AtomicLong bytesVerified = new AtomicLong();
  private final AtomicInteger resent = new AtomicInteger();
  private final List<Consumer<TransferStatus>> listeners = new CopyOnWriteArrayList<>();
  private final List<ByteChannel> openChannels = new CopyOnWriteArrayList<>();
  private final Instant startedAt;
  private volatile TransferState state;
  private volatile String error = "";
  private volatile String sha256 = "";
  private volatile Instant finishedAt;
  private volatile long bytesPerSecond;
  private volatile boolean cancelled;
  private volatile ChunkQueue queue;
  private volatile JsonNode opened;
  private volatile CompletableFuture<TransferStatus> result = new CompletableFuture<>();
  private long lastTickNanos;
  private long lastTickBytes;
  private long attemptStartNanos;
  private long attemptStartBytes;
  private long lastSavedNanos;

  private OutgoingTransfer(String id, Path source, List<Path> paths, List<long[]> fingerprint, TransferManifest manifest, TransferOptions options,
      String sourceNode, String targetNode, TransferLink link, Path storeDir, BufferPool buffers, Clock clock, Instant startedAt, TransferState state) {
    this.id = id;
    this.source = source;
    this.paths = paths;
    this.fingerprint = fingerprint;
    this.manifest = manifest;
    this.layout = manifest.layout();
    this.options = options;
    this.sourceNode = sourceNode;
    this.targetNode = targetNode;
    this.link = link;
    this.storeDir = storeDir;
    this.buffers = buffers;
    this.clock = clock;
    this.hashes = new byte[layout.count() * 32];
    this.startedAt = startedAt;
    this.state = state;
  }

  /**
   * Prepares a transfer of a regular file, or a directory's regular files.
   *
   * @throws InvalidSpecException if the path is missing, unreadable, holds a symbolic link or
   *     something that is not a regular file, or its name cannot be a destination
   */
  public static OutgoingTransfer prepare(Path path, TransferOptions options, String sourceNode, String targetNode, TransferLink link,
      Path storeDir, BufferPool buffers, Clock clock) {
    Path source = path.toAbsolutePath().normalize();
    if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
      throw new InvalidSpecException("path", source + " does not exist");
    }
    String destination = options.destinationName().orElseGet(() -> {
      Path name = source.getFileName();
      if (name == null) {
        throw new InvalidSpecException("path", "cannot send the root directory; send a directory under it");
      }
      try {
        return TransferOptions.checkRelativeName(name.toString());
      } catch (InvalidSpecException e) {
        throw new InvalidSpecException("path", "the file's own name cannot be a destination (" + e.reason() + "); choose one with --as NAME");
      }
    });
    boolean directory = Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS);
    List<Path> paths = new ArrayList<>();
    List<TransferManifest.Entry> entries = new ArrayList<>();
    java.util.Map<String, Integer> directoryModes = new java.util.HashMap<>();
    List<long[]> fingerprint = new ArrayList<>();
    try {
      if (directory) {
        try (var walk = Files.walk(source)) {
          for (Path p : walk.sorted().toList()) {
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
              directoryModes.put(p.equals(source) ? "" : source.relativize(p).toString(), mode(p));
              continue;
            }
            if (Files.isSymbolicLink(p)) {
              throw new InvalidSpecException("path", p + " is a symbolic link; a transfer sends regular files only -- copy what it points to, or remove it");
            }
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
              throw new InvalidSpecException("path", p + " is not a regular file (a socket, device or pipe); a transfer sends regular files only");
            }
            paths.add(p);
            entries.add(new TransferManifest.Entry(source.relativize(p).toString(), Files.size(p), mode(p)));
          }
        }
      } else if (Files.isSymbolicLink(source)) {
        throw new InvalidSpecException("path", source + " is a symbolic link; send the file it points to");
      } else if (Files.isRegularFile(source)) {
        paths.add(source);
        entries.add(new TransferManifest.Entry("", Files.size(source), mode(source)));
      } else {
        throw new InvalidSpecException("path", source + " is not a regular file or directory");
      }
      for (Path p : paths) {
        if (!Files.isReadable(p)) {
          throw new InvalidSpecException("path", p + " is not readable by this node");
        }
        fingerprint.add(new long[] {Files.size(p), Files.getLastModifiedTime(p).toMillis()});
      }
    } catch (IOException e) {
      throw new InvalidSpecException("path", "cannot read " + source + ": " + e.getMessage());
    }
    long total = entries.stream().mapToLong(TransferManifest.Entry::size).sum();
    byte[] random = new byte[6];
    ThreadLocalRandom.current().nextBytes(random);
    String id = "tx-" + HexFormat.of().formatHex(random);
    TransferManifest manifest =
        new TransferManifest(id, destination, directory, options.chunkSize(), entries, total, options.overwrite(), directoryModes);
    return new OutgoingTransfer(id, source, paths, fingerprint, manifest, options, sourceNode, targetNode, link, storeDir, buffers, clock,
        clock.instant(), TransferState.RUNNING);
  }

  @Override
  public String id() {
    return id;
  }

  public String targetNode() {
    return targetNode;
  }

  @Override
  public TransferStatus status() {
    return new TransferRecord(id, source.toString(), sourceNode, targetNode, manifest.destination(), state, manifest.files().size(),
        manifest.bytesTotal(), bytesVerified.get(), bytesOnWire.get(), state == TransferState.RUNNING || state == TransferState.SUCCEEDED ? bytesPerSecond : 0,
        resent.get(), sha256, startedAt, Optional.ofNullable(finishedAt), error);
  }

  @Override
  public Subscription onProgress(Consumer<TransferStatus> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  @Override
  public CompletableFuture<TransferStatus> result() {
    return result;
  }

  @Override
  public void cancel() {
    if (state != TransferState.RUNNING) {
      return;
    }
    cancelled = true;
    ChunkQueue q = queue;
    if (q != null) {
      q.abort();
    }
    closeChannels();
  }

  @Override
  public synchronized Transfer resume() {
    if (state == TransferState.RUNNING) {
      return this;
    }
    if (state == TransferState.SUCCEEDED || state == TransferState.FAILED) {
      throw new InvalidSpecException("id", "transfer " + id + " " + state.name().toLowerCase(java.util.Locale.ROOT) + "; only a PAUSED transfer resumes -- send the file again");
    }
    checkUnchanged();
    result = new CompletableFuture<>();
    start();
    return this;
  }

  /** Starts an attempt on a thread of its own. */
  public synchronized void start() {
    state = TransferState.RUNNING;
    cancelled = false;
    error = "";
    finishedAt = null;
    save();
    Thread t = new Thread(this::attempt, "hive-transfer-" + id);
    t.setDaemon(true);
    t.start();
  }

  private void checkUnchanged() {
    for (int i = 0; i < paths.size(); i++) {
      Path p = paths.get(i);
      try {
        if (Files.size(p) != fingerprint.get(i)[0] || Files.getLastModifiedTime(p).toMillis() != fingerprint.get(i)[1]) {
          throw new InvalidSpecException("path", p + " changed since transfer " + id + " started; send it again as a new transfer");
        }
      } catch (IOException e) {
        throw new InvalidSpecException("path", "cannot read " + p + " any more: " + e.getMessage());
      }
    }
  }

  /** One attempt: open, stream what is missing, commit; ends SUCCEEDED, PAUSED or FAILED. */
  private void attempt() {
    try {
      JsonNode answer = opened;
      opened = null;
      if (answer == null) {
        checkUnchanged();
        answer = openOnReceiver();
      }
      BitSet verified = BitSet.valueOf(Base64.getDecoder().decode(answer.path("verified").asText()));
      if (verified.length() > layout.count()) {
        throw new HiveException("the receiver claims chunks beyond the manifest");
      }
      bytesVerified.set(answer.path("verifiedBytes").asLong());
      recallHashes(verified);
      ChunkQueue q = new ChunkQueue(layout.count(), verified, MAX_ATTEMPTS_PER_CHUNK);
      queue = q;
      synchronized (this) {
        attemptStartNanos = System.nanoTime();
        attemptStartBytes = bytesVerified.get();
        lastTickNanos = attemptStartNanos;
        lastTickBytes = attemptStartBytes;
      }
      int missing = layout.count() - verified.cardinality();
      if (missing > 0) {
        runStreams(q, answer.path("token").asText(), answer.path("plainPort").asInt(-1), Math.min(options.streams(), missing));
      }
      if (cancelled) {
        throw new Paused("cancelled");
      }
      if (!q.complete()) {
        throw new Paused("the streams ended before every chunk was verified");
      }
      ObjectNode commit = JSON.createObjectNode();
      commit.put("id", id);
      commit.put("sha256", ReceiveSession.rootHash(hashes));
      JsonNode done = JSON.readTree(link.request(COMMIT_TOPIC, JSON.writeValueAsBytes(commit)));
      sha256 = done.path("sha256").asText();
      finish(TransferState.SUCCEEDED, "");
    } catch (Paused e) {
      finish(TransferState.PAUSED, e.getMessage());
    } catch (InvalidSpecException | Refused e) {
      finish(TransferState.FAILED, e.getMessage());
    } catch (dev.hive.api.UnavailableException e) {
      finish(TransferState.PAUSED, e.getMessage() + "; `hive transfer resume " + id + "` sends the rest");
    } catch (HiveException e) {
      // The receiver answered with an error: a refusal unless it is about reaching it.
      finish(cancelled ? TransferState.PAUSED : TransferState.FAILED, cancelled ? "cancelled" : e.getMessage());
    } catch (IOException | InterruptedException | RuntimeException e) {
      finish(TransferState.PAUSED, (cancelled ? "cancelled" : "the transfer broke off: " + e.getMessage()) + "; `hive transfer resume " + id + "` sends the rest");
    }
  }

  private JsonNode openOnReceiver() throws IOException {
    ObjectNode request = JSON.createObjectNode();
    request.set("manifest", JSON.readTree(manifest.encode()));
    request.put("plain", !options.encrypted());
    return JSON.readTree(link.request(OPEN_TOPIC, JSON.writeValueAsBytes(request)));
  }

  /**
   * Opens the transfer on the receiver now, so that a refusal (name, size, space) reaches the
   * caller of send as an exception instead of a FAILED transfer.
   *
   * @throws InvalidSpecException with the receiver's reason
   * @throws dev.hive.api.UnavailableException if the receiver cannot be reached
   */
  public void open() {
    try {
      opened = openOnReceiver();
    } catch (dev.hive.api.UnavailableException e) {
      throw e;
    } catch (HiveException e) {
      throw new InvalidSpecException("receiver", "node " + targetNode + " refused the transfer: " + e.getMessage());
    } catch (IOException e) {
      throw new HiveException("cannot open the transfer on node " + targetNode + ": " + e.getMessage(), e);
    }
  }

  /** Hashes of chunks verified in earlier attempts: from the hashes file, or read again from the source. */
  private void recallHashes(BitSet verified) throws IOException {
    Path file = storeDir.resolve(id + ".hashes");
    if (Files.exists(file)) {
      byte[] kept = Files.readAllBytes(file);
      System.arraycopy(kept, 0, hashes, 0, Math.min(kept.length, hashes.length));
    }
    byte[] zero = new byte[32];
    MessageDigest sha = TransferReceiver.sha256();
    ByteBuffer buffer = null;
    try {
      for (int i = verified.nextSetBit(0); i >= 0; i = verified.nextSetBit(i + 1)) {
        if (java.util.Arrays.equals(hashes, i * 32, i * 32 + 32, zero, 0, 32)) {
          if (buffer == null) {
            buffer = buffers.take(manifest.chunkSize());
          }
          try (FileChannel f = FileChannel.open(paths.get(layout.file(i)), StandardOpenOption.READ)) {
            hashChunk(f, i, buffer, sha);
          }
        }
      }
    } finally {
      if (buffer != null) {
        buffers.give(buffer);
      }
    }
  }

  private void runStreams(ChunkQueue q, String token, int plainPort, int streams) throws IOException, InterruptedException {
    byte[] hello = ByteBuffer.allocate(DataProtocol.HELLO_BYTES).putInt(DataProtocol.MAGIC).put(HexFormat.of().parseHex(token)).array();
    FileChannel[] files = new FileChannel[paths.size()];
    StreamError firstError = new StreamError();
    RateLimiter limiter = options.bandwidthLimit() > 0 ? RateLimiter.system(options.bandwidthLimit()) : null;
    List<Thread> threads = new ArrayList<>();
    try {
      for (int f = 0; f < files.length; f++) {
        files[f] = FileChannel.open(paths.get(f), StandardOpenOption.READ);
      }
      // Each stream opens its own channel and starts sending as soon as it is open: the first
      // chunk does not wait for every handshake.
      for (int s = 0; s < streams; s++) {
        threads.add(new Thread(() -> {
          Thread reader = null;
          try {
            ByteChannel c = options.encrypted() ? link.openChannel() : plainChannel(plainPort);
            openChannels.add(c);
            if (q.aborted()) {
              c.close();
              return;
            }
            DataProtocol.writeFully(c, ByteBuffer.wrap(hello));
            reader = new Thread(() -> {
              try {
                readVerdicts(q, c);
              } catch (IOException | RuntimeException e) {
                if (!q.complete()) {
                  firstError.offer(e);
                  q.abort();
                  closeChannels();
                }
              }
            }, "hive-transfer-verdicts");
            reader.setDaemon(true);
            reader.start();
            sendChunks(q, c, files, limiter);
            reader.join();
          } catch (IOException | InterruptedException | RuntimeException e) {
            firstError.offer(e);
            q.abort();
            closeChannels();
            if (reader != null) {
              try {
                reader.join();
              } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
              }
            }
          }
        }, "hive-transfer-out"));
      }
      threads.forEach(t -> {
        t.setDaemon(true);
        t.start();
      });
      // This thread reports progress while the streams run.
      for (Thread t : threads) {
        while (t.isAlive()) {
          t.join(PROGRESS_INTERVAL_MS);
          tick();
        }
      }
    } finally {
      closeChannels();
      for (FileChannel f : files) {
        if (f != null) {
          f.close();
        }
      }
    }
    if (firstError.error != null && !cancelled) {
      Exception e = firstError.error;
      if (e instanceof Refused r) {
        throw r;
      }
      throw new IOException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
    }
  }

  private ByteChannel plainChannel(int port) throws IOException {
    if (port <= 0) {
      throw new HiveException("the receiver opened no plain port");
    }
    SocketChannel c = SocketChannel.open();
    try {
      c.socket().connect(new InetSocketAddress(link.host(), port), 10_000);
      c.socket().setTcpNoDelay(true);
      return c;
    } catch (IOException e) {
      c.close();
      throw new IOException("cannot open a plain stream to " + link.host() + ":" + port + ": " + e.getMessage(), e);
    }
  }

  private void sendChunks(ChunkQueue q, ByteChannel out, FileChannel[] files, RateLimiter limiter) throws IOException, InterruptedException {
    ByteBuffer data = buffers.take(manifest.chunkSize());
    ByteBuffer header = ByteBuffer.allocateDirect(DataProtocol.CHUNK_HEADER_BYTES);
    ByteBuffer hashSlot = ByteBuffer.allocateDirect(32);
    MessageDigest sha = TransferReceiver.sha256();
    FileChannel hashFile = FileChannel.open(storeDir.resolve(id + ".hashes"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    boolean zeroCopy = out instanceof SocketChannel;
    try {
      int i;
      while ((i = q.take()) >= 0) {
        FileChannel file = files[layout.file(i)];
        hashChunk(file, i, data, sha);
        hashSlot.clear().put(hashes, i * 32, 32).flip();
        hashFile.write(hashSlot, i * 32L);
        if (limiter != null) {
          limiter.acquire(layout.length(i));
        }
        header.clear();
        header.put(DataProtocol.CHUNK).putInt(i).putInt(layout.length(i)).put(hashes, i * 32, 32).flip();
        DataProtocol.writeFully(out, header);
        if (zeroCopy) {
          long at = layout.offset(i);
          long end = at + layout.length(i);
          while (at < end) {
            long n = file.transferTo(at, end - at, out);
            if (n <= 0 && !out.isOpen()) {
              throw new EOFException("the stream closed");
            }
            at += n;
          }
        } else {
          DataProtocol.writeFully(out, data);
        }
        bytesOnWire.addAndGet(layout.length(i));
      }
      if (q.complete()) {
        header.clear();
        header.put(DataProtocol.END).flip();
        DataProtocol.writeFully(out, header);
      }
    } finally {
      hashFile.close();
      buffers.give(data);
    }
  }

  /** Reads chunk {@code i} into {@code data} (left with position 0 and limit at its length) and keeps its hash. */
  private void hashChunk(FileChannel file, int i, ByteBuffer data, MessageDigest sha) throws IOException {
    data.clear().limit(layout.length(i));
    long at = layout.offset(i);
    while (data.hasRemaining()) {
      int n = file.read(data, at + data.position());
      if (n < 0) {
        throw new InvalidSpecException("path", paths.get(layout.file(i)) + " became shorter while it was sent; send it again");
      }
    }
    data.flip();
    sha.reset();
    sha.update(data);
    try {
      sha.digest(hashes, i * 32, 32);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException(e);
    }
    data.flip();
  }

  private void readVerdicts(ChunkQueue q, ByteChannel in) throws IOException {
    ByteBuffer reply = ByteBuffer.allocate(DataProtocol.REPLY_BYTES);
    while (true) {
      reply.clear().limit(1);
      if (in.read(reply) < 0) {
        if (q.complete() || cancelled) {
          return;
        }
        throw new EOFException("the receiver closed a stream");
      }
      byte type = reply.get(0);
      if (type == DataProtocol.ERROR) {
        ByteBuffer length = ByteBuffer.allocate(2);
        DataProtocol.readFully(in, length);
        ByteBuffer message = ByteBuffer.allocate(length.flip().getShort() & 0xffff);
        DataProtocol.readFully(in, message);
        throw new Refused("the receiver refused a stream: " + new String(message.array(), StandardCharsets.UTF_8));
      }
      reply.limit(DataProtocol.REPLY_BYTES);
      DataProtocol.readFully(in, reply);
      int chunk = reply.getInt(1);
      if (chunk < 0 || chunk >= layout.count()) {
        throw new IOException("the receiver answered for chunk " + chunk + " of " + layout.count());
      }
      if (type == DataProtocol.ACK) {
        bytesVerified.addAndGet(layout.length(chunk));
        q.done(chunk);
      } else if (type == DataProtocol.NACK) {
        resent.incrementAndGet();
        log.info("transfer {}: chunk {} failed verification on the receiver; sending it again", id, chunk);
        if (!q.retry(chunk)) {
          throw new Refused("chunk " + chunk + " failed verification " + MAX_ATTEMPTS_PER_CHUNK + " times; the source is changing or the path corrupts data");
        }
      } else {
        throw new IOException("unknown verdict " + type + " from the receiver");
      }
    }
  }

  private void closeChannels() {
    for (ByteChannel c : openChannels) {
      try {
        c.close();
      } catch (IOException e) {
        // Closing.
      }
    }
    openChannels.clear();
  }

  private void finish(TransferState end, String why) {
    synchronized (this) {
      long elapsed = System.nanoTime() - attemptStartNanos;
      if (end == TransferState.SUCCEEDED && elapsed > 0) {
        bytesPerSecond = (long) ((bytesVerified.get() - attemptStartBytes) * 1e9 / elapsed);
      }
      error = why;
      finishedAt = clock.instant();
      state = end;
      save();
    }
    TransferStatus s = status();
    notifyListeners(s);
    if (end == TransferState.SUCCEEDED) {
      try {
        Files.deleteIfExists(storeDir.resolve(id + ".hashes"));
      } catch (IOException e) {
        // Only space.
      }
      log.info("transfer {}: {} to {} as {} ({} bytes, {} on the wire, sha256 {})", id, source, targetNode, manifest.destination(),
          manifest.bytesTotal(), bytesOnWire.get(), sha256);
      result.complete(s);
    } else {
      log.info("transfer {} {}: {}", id, end, why);
      result.completeExceptionally(new HiveException("transfer " + id + " " + end + ": " + why));
    }
  }

  /** Every progress interval while the streams run: updates the rate, tells listeners, saves the record now and then. */
  private void tick() {
    if (state != TransferState.RUNNING) {
      return;
    }
    synchronized (this) {
      long now = System.nanoTime();
      long bytes = bytesVerified.get();
      if (now > lastTickNanos && lastTickNanos != 0) {
        long rate = (long) ((bytes - lastTickBytes) * 1e9 / (now - lastTickNanos));
        bytesPerSecond = bytesPerSecond == 0 ? rate : (bytesPerSecond + rate) / 2;
      }
      lastTickNanos = now;
      lastTickBytes = bytes;
      if (now - lastSavedNanos > 1_000_000_000L) {
        lastSavedNanos = now;
        save();
      }
    }
    notifyListeners(status());
  }

  private void notifyListeners(TransferStatus s) {
    for (Consumer<TransferStatus> l : listeners) {
      try {
        l.accept(s);
      } catch (RuntimeException e) {
        log.warn("a transfer progress listener failed", e);
      }
    }
  }

  /** Writes the record: what `hive transfer ls` shows after a restart, and what resume needs. */
  private void save() {
    ObjectNode o = JSON.createObjectNode();
    TransferStatus s = status();
    o.put("id", id).put("file", source.toString()).put("source", sourceNode).put("target", targetNode).put("state", s.state().name())
        .put("bytesVerified", s.bytesVerified()).put("bytesOnWire", s.bytesOnWire()).put("bytesPerSecond", bytesPerSecond)
        .put("chunksResent", s.chunksResent()).put("sha256", sha256).put("startedAt", startedAt.toString()).put("error", error);
    if (finishedAt != null) {
      o.put("finishedAt", finishedAt.toString());
    }
    o.set("manifest", readTree(manifest.encode()));
    ObjectNode opts = o.putObject("options");
    opts.put("streams", options.streams()).put("encrypted", options.encrypted()).put("bandwidthLimit", options.bandwidthLimit());
    ArrayNode files = o.putArray("paths");
    for (int i = 0; i < paths.size(); i++) {
      files.addObject().put("path", paths.get(i).toString()).put("size", fingerprint.get(i)[0]).put("modified", fingerprint.get(i)[1]);
    }
    try {
      Files.createDirectories(storeDir);
      Path tmp = storeDir.resolve(id + ".json.tmp");
      Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
      Files.move(tmp, storeDir.resolve(id + ".json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.warn("cannot save the record of transfer {}: {}", id, e.getMessage());
    }
  }

  /**
   * Reads a record saved by {@link #save}; one that was RUNNING when this node stopped is PAUSED.
   *
   * @throws InvalidSpecException if the record is not one
   */
  public static OutgoingTransfer restore(Path recordFile, java.util.function.Function<String, TransferLink> links, BufferPool buffers, Clock clock) {
    try {
      JsonNode o = JSON.readTree(recordFile.toFile());
      TransferManifest manifest = TransferManifest.decode(JSON.writeValueAsBytes(o.path("manifest")));
      JsonNode opts = o.path("options");
      TransferOptions options = TransferOptions.builder().streams(opts.path("streams").asInt(4)).chunkSize(manifest.chunkSize())
          .destinationName(manifest.destination()).overwrite(manifest.overwrite()).encrypted(opts.path("encrypted").asBoolean(true))
          .bandwidthLimit(opts.path("bandwidthLimit").asLong()).build();
      List<Path> paths = new ArrayList<>();
      List<long[]> fingerprint = new ArrayList<>();
      for (JsonNode p : o.path("paths")) {
        paths.add(Path.of(p.path("path").asText()));
        fingerprint.add(new long[] {p.path("size").asLong(), p.path("modified").asLong()});
      }
      TransferState state = TransferState.valueOf(o.path("state").asText());
      String error = o.path("error").asText();
      if (state == TransferState.RUNNING) {
        state = TransferState.PAUSED;
        error = "this node stopped during the transfer; `hive transfer resume " + manifest.id() + "` sends the rest";
      }
      String target = o.path("target").asText();
      OutgoingTransfer t = new OutgoingTransfer(manifest.id(), Path.of(o.path("file").asText()), paths, fingerprint, manifest, options,
          o.path("source").asText(), target, links.apply(target), recordFile.getParent(), buffers, clock,
          Instant.parse(o.path("startedAt").asText()), state);
      t.bytesVerified.set(o.path("bytesVerified").asLong());
      t.bytesOnWire.set(o.path("bytesOnWire").asLong());
      t.bytesPerSecond = o.path("bytesPerSecond").asLong();
      t.resent.set(o.path("chunksResent").asInt());
      t.sha256 = o.path("sha256").asText();
      t.error = error;
      if (o.hasNonNull("finishedAt")) {
        t.finishedAt = Instant.parse(o.path("finishedAt").asText());
      }
      if (state != TransferState.SUCCEEDED) {
        t.result.completeExceptionally(new HiveException("transfer " + t.id + " " + state + ": " + error));
      } else {
        t.result.complete(t.status());
      }
      return t;
    } catch (IOException | RuntimeException e) {
      throw new InvalidSpecException("path", "cannot read the transfer record " + recordFile + ": " + e.getMessage());
    }
  }

  private static JsonNode readTree(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The receiver refused: resuming would not help. */
  private static final class Refused extends IOException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  /** The attempt stopped and may be resumed. */
  private static final class Paused extends Exception {
    private static final long serialVersionUID = 1L;

    Paused(String message) {
      super(message);
    }
  }

  /** The first failure among a transfer's streams. */
  private static final class StreamError {
    volatile Exception error;

    synchronized void offer(Exception e) {
      if (error == null) {
        error = e;
      }
    }
  }

  /** The permission bits of {@code p} (0644 where the file system has none), which it lands with. */
  private static int mode(Path p) throws IOException {
    if (!p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return Files.isDirectory(p) ? TransferManifest.DEFAULT_DIRECTORY_MODE : TransferManifest.DEFAULT_FILE_MODE;
    }
    int mode = 0;
    for (java.nio.file.attribute.PosixFilePermission bit : Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)) {
      mode |= 1 << (8 - bit.ordinal());
    }
    return mode;
  }
}
