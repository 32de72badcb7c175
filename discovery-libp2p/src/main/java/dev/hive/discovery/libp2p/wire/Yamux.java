package dev.hive.discovery.libp2p.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * yamux ({@code /yamux/1.0.0}): many streams over one secured connection, each with credit-based
 * flow control (256 KiB to start, raised to {@link #WINDOW} by the first window update), pings
 * and a graceful go-away. One thread reads frames and hands them to streams; writers share the
 * connection under a lock.
 */
public final class Yamux implements AutoCloseable {
  public static final String PROTOCOL_ID = "/yamux/1.0.0";
  static final int HEADER = 12;
  static final int INITIAL_WINDOW = 256 * 1024;
  /** The receive window this side grants each stream: large enough to keep loopback busy. */
  static final int WINDOW = 4 * 1024 * 1024;
  /** A data frame's largest body: one frame fits one Noise message. */
  static final int MAX_DATA = Noise.MAX_MESSAGE - 16 - HEADER;
  static final int TYPE_DATA = 0;
  static final int TYPE_WINDOW = 1;
  static final int TYPE_PING = 2;
  static final int TYPE_GO_AWAY = 3;
  static final int SYN = 1;
  static final int ACK = 2;
  static final int FIN = 4;
  static final int RST = 8;
  /** More streams than this open at once from one peer is abuse. */
  static final int MAX_STREAMS = 1024;

  private final InputStream in;
  private final OutputStream out;
  private final Consumer<Stream> onInbound;
  private final Executor executor;
  private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
  private final AtomicInteger nextId;
  private final Map<Integer, CompletableFuture<Long>> pings = new ConcurrentHashMap<>();
  private final AtomicInteger nextPing = new AtomicInteger();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private volatile boolean goingAway;
  private volatile Throwable endedBy;

  /**
   * @param client whether this side dialed (it then opens odd stream ids)
   * @param onInbound takes each stream the peer opens, on {@code executor}
   */
  public Yamux(InputStream in, OutputStream out, boolean client, Executor executor, Consumer<Stream> onInbound) {
    this.in = in;
    this.out = out;
    this.nextId = new AtomicInteger(client ? 1 : 2);
    this.executor = executor;
    this.onInbound = onInbound;
  }

  /** Runs the read loop on the calling thread until the connection ends; then closes everything. */
  public void run() {
    Throwable failure = null;
    try {
      byte[] header = new byte[HEADER];
      while (true) {
        int n = in.readNBytes(header, 0, HEADER);
        if (n == 0) {
          break;
        }
        if (n < HEADER) {
          throw new EOFException("connection closed inside a yamux header");
        }
        frame(header);
      }
    } catch (IOException | RuntimeException e) {
      failure = e;
    } finally {
      shutdown(failure);
    }
  }

  private void frame(byte[] h) throws IOException {
    if (h[0] != 0) {
      throw new WireException("yamux version " + h[0] + ", expected 0");
    }
    int type = h[1];
    int flags = ((h[2] & 0xFF) << 8) | (h[3] & 0xFF);
    int id = readInt(h, 4);
    long length = readInt(h, 8) & 0xFFFFFFFFL;
    switch (type) {
      case TYPE_DATA, TYPE_WINDOW -> stream(type, flags, id, length);
      case TYPE_PING -> {
        if ((flags & SYN) != 0) {
          writeFrame(TYPE_PING, ACK, 0, (int) length, null, 0, 0);
        } else if ((flags & ACK) != 0) {
          CompletableFuture<Long> pending = pings.remove((int) length);
          if (pending != null) {
            pending.complete(System.nanoTime());
          }
        }
      }
      case TYPE_GO_AWAY -> {
        goingAway = true;
        throw new EOFException("peer went away (code " + length + ")");
      }
      default -> throw new WireException("yamux frame type " + type + " is unknown");
    }
  }

  private void stream(int type, int flags, int id, long length) throws IOException {
    Stream s = streams.get(id);
    if ((flags & SYN) != 0) {
      if (s != null || id == 0 || (id & 1) == (nextId.get() & 1)) {
        throw new WireException("peer opened yamux stream " + id + " that it may not open");
      }
      if (goingAway || streams.size() >= MAX_STREAMS) {
        discard(type, length);
        writeFrame(TYPE_WINDOW, RST, id, 0, null, 0, 0);
        return;
      }
      s = new Stream(id);
      streams.put(id, s);
      writeFrame(TYPE_WINDOW, ACK, id, WINDOW - INITIAL_WINDOW, null, 0, 0);
      Stream inbound = s;
      executor.execute(() -> onInbound.accept(inbound));
    }
    if (s == null) {
      // A stream already gone (reset or closed): drop its data quietly.
      discard(type, length);
      return;
    }
    if (type == TYPE_WINDOW) {
      s.credit(length);
    } else {
      if (length > s.receiveWindowLeft()) {
        throw new WireException("peer sent " + length + " bytes on yamux stream " + id + " beyond its window of " + s.receiveWindowLeft());
      }
      byte[] data = in.readNBytes((int) length);
      if (data.length < length) {
        throw new EOFException("connection closed inside a yamux data frame");
      }
      s.arrived(data);
    }
    if ((flags & FIN) != 0) {
      s.remoteClosed();
    }
    if ((flags & RST) != 0) {
      s.reset(false);
    }
  }

  private void discard(int type, long length) throws IOException {
    if (type == TYPE_DATA) {
      if (length > WINDOW) {
        throw new WireException("yamux data frame of " + length + " bytes for no stream");
      }
      in.skipNBytes(length);
    }
  }

  private static int readInt(byte[] b, int at) {
    return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
  }

  private void writeFrame(int type, int flags, int id, int length, byte[] data, int offset, int count) throws IOException {
    byte[] h = new byte[HEADER];
    h[1] = (byte) type;
    h[2] = (byte) (flags >>> 8);
    h[3] = (byte) flags;
    for (int i = 0; i < 4; i++) {
      h[4 + i] = (byte) (id >>> (24 - 8 * i));
      h[8 + i] = (byte) (length >>> (24 - 8 * i));
    }
    synchronized (out) {
      if (closed.isDone()) {
        throw new IOException("connection closed");
      }
      out.write(h);
      if (count > 0) {
        out.write(data, offset, count);
      }
      out.flush();
    }
  }

  /**
   * Opens a stream to the peer.
   *
   * @throws IOException if the connection is closed or going away
   */
  public Stream open() throws IOException {
    if (goingAway || closed.isDone()) {
      throw new IOException("connection is closed");
    }
    int id = nextId.getAndAdd(2);
    Stream s = new Stream(id);
    streams.put(id, s);
    writeFrame(TYPE_WINDOW, SYN, id, WINDOW - INITIAL_WINDOW, null, 0, 0);
    return s;
  }

  /**
   * Sends a ping and returns the round trip.
   *
   * @return the round-trip time, or a future failed when the connection closes first
   */
  public CompletableFuture<Long> ping() {
    int opaque = nextPing.incrementAndGet();
    long sent = System.nanoTime();
    CompletableFuture<Long> answer = new CompletableFuture<>();
    pings.put(opaque, answer);
    try {
      writeFrame(TYPE_PING, SYN, 0, opaque, null, 0, 0);
    } catch (IOException e) {
      pings.remove(opaque);
      answer.completeExceptionally(e);
    }
    return answer.thenApply(received -> TimeUnit.NANOSECONDS.toMillis(received - sent));
  }

  /** Returns a future completed when the connection has ended. */
  public CompletableFuture<Void> closedFuture() {
    return closed;
  }

  public boolean isOpen() {
    return !closed.isDone() && !goingAway;
  }

  public int streamCount() {
    return streams.size();
  }

  /** Says go-away to the peer and closes the connection. */
  @Override
  public void close() {
    if (!closed.isDone()) {
      try {
        writeFrame(TYPE_GO_AWAY, 0, 0, 0, null, 0, 0);
      } catch (IOException e) {
        // Already gone: nothing to say goodbye to.
      }
    }
    shutdown(null);
  }

  /** Returns what ended the connection: null while it is open or when it was closed cleanly. */
  Throwable endedBy() {
    return endedBy;
  }

  private void shutdown(Throwable cause) {
    if (!closed.complete(null)) {
      return;
    }
    endedBy = cause;
    try {
      out.close();
    } catch (IOException e) {
      // Closing anyway.
    }
    try {
      in.close();
    } catch (IOException e) {
      // Closing anyway.
    }
    streams.values().forEach(s -> s.reset(false));
    IOException ended = new IOException("connection closed" + (cause == null ? "" : ": " + cause.getMessage()));
    pings.values().forEach(p -> p.completeExceptionally(ended));
  }

  /** One yamux stream: an input and an output, closed separately (half-close), or reset. */
  public final class Stream implements AutoCloseable {
    private final int id;
    private final ArrayDeque<byte[]> received = new ArrayDeque<>();
    private int headOffset;
    private long receiveWindow = WINDOW;
    private long consumed;
    private long sendWindow = INITIAL_WINDOW;
    private boolean remoteClosed;
    private boolean localClosed;
    private boolean readClosed;
    private boolean reset;
    private final InputStream input = new StreamInput();
    private final OutputStream output = new StreamOutput();

    Stream(int id) {
      this.id = id;
    }

    public int id() {
      return id;
    }

    public InputStream in() {
      return input;
    }

    public OutputStream out() {
      return output;
    }

    synchronized long receiveWindowLeft() {
      return receiveWindow;
    }

    synchronized void arrived(byte[] data) {
      if (reset || readClosed) {
        // Nobody will read it: drop it without using up the window.
        return;
      }
      receiveWindow -= data.length;
      if (data.length > 0) {
        received.add(data);
      }
      notifyAll();
    }

    synchronized void credit(long delta) {
      sendWindow += delta;
      notifyAll();
    }

    synchronized void remoteClosed() {
      remoteClosed = true;
      notifyAll();
      forgetIfDone();
    }

    void reset(boolean tellPeer) {
      synchronized (this) {
        if (reset) {
          return;
        }
        reset = true;
        if (tellPeer) {
          received.clear();
        }
        notifyAll();
      }
      streams.remove(id);
      if (tellPeer) {
        try {
          writeFrame(TYPE_WINDOW, RST, id, 0, null, 0, 0);
        } catch (IOException e) {
          // The connection is gone: so is the stream.
        }
      }
    }

    private void forgetIfDone() {
      if (remoteClosed && localClosed) {
        streams.remove(id);
      }
    }

    /**
     * Writes {@code data} and ends this side's writing, with the FIN on the last data frame: a
     * small request or answer goes out as one frame rather than two.
     */
    public void writeAndClose(byte[] data) throws IOException {
      send(data, 0, data.length, true);
    }

    /** Sends {@code len} bytes as data frames within the peer's window; with {@code fin}, the last one carries the FIN. */
    private void send(byte[] b, int off, int len, boolean fin) throws IOException {
      do {
        int n;
        boolean last;
        synchronized (this) {
          while (sendWindow == 0 && len > 0 && !reset && !localClosed) {
            try {
              wait(1000);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new InterruptedIOException("interrupted while writing a stream");
            }
            if (closed.isDone()) {
              throw new IOException("connection closed");
            }
          }
          if (reset) {
            throw new IOException("stream reset by the peer");
          }
          if (localClosed) {
            throw new IOException("stream closed for writing");
          }
          n = (int) Math.min(Math.min(len, MAX_DATA), sendWindow);
          sendWindow -= n;
          last = fin && n == len;
          if (last) {
            localClosed = true;
            forgetIfDone();
          }
        }
        writeFrame(TYPE_DATA, last ? FIN : 0, id, n, b, off, n);
        off += n;
        len -= n;
      } while (len > 0);
    }

    /** Ends this side's writing (FIN); the peer may still send. */
    public void closeWrite() throws IOException {
      synchronized (this) {
        if (localClosed || reset) {
          return;
        }
        localClosed = true;
        forgetIfDone();
      }
      writeFrame(TYPE_WINDOW, FIN, id, 0, null, 0, 0);
    }

    /** Aborts the stream in both directions (RST). */
    public void reset() {
      reset(true);
    }

    /**
     * Closes writing (FIN) and stops reading: what the peer still sends is dropped. The stream is
     * forgotten once the peer closes its side too.
     */
    @Override
    public void close() {
      synchronized (this) {
        readClosed = true;
        received.clear();
      }
      try {
        closeWrite();
      } catch (IOException e) {
        // The connection is gone.
      }
    }

    private final class StreamInput extends InputStream {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        int n;
        long update = 0;
        synchronized (Stream.this) {
          while (received.isEmpty()) {
            if (reset || readClosed) {
              throw new IOException("stream reset");
            }
            if (remoteClosed) {
              return -1;
            }
            try {
              Stream.this.wait();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new InterruptedIOException("interrupted while reading a stream");
            }
          }
          byte[] head = received.peek();
          n = Math.min(len, head.length - headOffset);
          System.arraycopy(head, headOffset, b, off, n);
          headOffset += n;
          if (headOffset == head.length) {
            received.poll();
            headOffset = 0;
          }
          consumed += n;
          if (consumed >= WINDOW / 2 && !remoteClosed) {
            update = consumed;
            receiveWindow += consumed;
            consumed = 0;
          }
        }
        if (update > 0) {
          writeFrame(TYPE_WINDOW, 0, id, (int) update, null, 0, 0);
        }
        return n;
      }

      @Override
      public int available() {
        synchronized (Stream.this) {
          return received.isEmpty() ? 0 : received.peek().length - headOffset;
        }
      }

      @Override
      public void close() {
        Stream.this.close();
      }
    }

    private final class StreamOutput extends OutputStream {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (len > 0) {
          send(b, off, len, false);
        }
      }

      @Override
      public void close() throws IOException {
        closeWrite();
      }
    }
  }
}
