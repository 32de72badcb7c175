package dev.hive.core.transport.memory;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network of in-memory transports for simulations and unit tests, never for what an
 * integration test claims to test. {@link #realTime()} delivers on a thread pool and honours
 * timeouts; {@link #virtualTime()} delivers in the caller's thread and leaves timeouts to the
 * caller's clock, so that thousands of nodes run deterministically in virtual time. Nodes can be
 * cut off, which makes every request to or from them go unanswered.
 */
public final class InMemoryNetwork {
  private final Executor delivery;
  private final boolean timeouts;
  private final Map<String, Transport.Handler> listeners = new ConcurrentHashMap<>();
  private final Map<String, String> nodeAt = new ConcurrentHashMap<>();
  private final Set<String> cut = ConcurrentHashMap.newKeySet();
  private final AtomicInteger nextPort = new AtomicInteger(40000);
  private final AtomicInteger delivered = new AtomicInteger();

  private InMemoryNetwork(Executor delivery, boolean timeouts) {
    this.delivery = delivery;
    this.timeouts = timeouts;
  }

  /** Delivery on a thread pool, with timeouts in real time. */
  public static InMemoryNetwork realTime() {
    return new InMemoryNetwork(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "hive-memory-net");
      t.setDaemon(true);
      return t;
    }), true);
  }

  /** Delivery in the caller's thread; a request to a cut-off node never completes. */
  public static InMemoryNetwork virtualTime() {
    return new InMemoryNetwork(Runnable::run, false);
  }

  /** Returns a transport for {@code nodeId} on this network. */
  public Transport transport(String nodeId) {
    return new MemoryTransport(nodeId);
  }

  /** Cuts a node off: its requests and requests to it go unanswered. */
  public void cutOff(String nodeId) {
    cut.add(nodeId);
  }

  /** Reconnects a node. */
  public void reconnect(String nodeId) {
    cut.remove(nodeId);
  }

  /** Returns the number of requests delivered so far. */
  public int delivered() {
    return delivered.get();
  }

  private final class MemoryTransport implements Transport {
    private final String nodeId;
    private String address;

    MemoryTransport(String nodeId) {
      this.nodeId = nodeId;
    }

    @Override
    public String name() {
      return "memory";
    }

    @Override
    public String localNodeId() {
      return nodeId;
    }

    @Override
    public int listen(String host, int port, Handler handler) {
      int actual = port == 0 ? nextPort.incrementAndGet() : port;
      String key = host + ":" + actual;
      if (listeners.putIfAbsent(key, handler) != null) {
        throw new UnavailableException("cannot listen on " + key + ": the port is in use");
      }
      nodeAt.put(key, nodeId);
      address = key;
      return actual;
    }

    @Override
    public CompletableFuture<byte[]> request(DiscoveredPeer target, String topic, byte[] payload, Duration timeout) {
      return deliver(target, timeout, handler -> handler.handle(nodeId, topic, payload.clone()));
    }

    @Override
    public CompletableFuture<byte[]> stream(DiscoveredPeer target, String topic, InputStream body, Duration timeout) {
      byte[] bytes;
      try {
        bytes = body.readAllBytes();
      } catch (IOException e) {
        return CompletableFuture.failedFuture(new HiveException("cannot read the stream body: " + e.getMessage(), e));
      }
      return deliver(target, timeout, handler -> {
        try {
          return handler.handleStream(nodeId, topic, new ByteArrayInputStream(bytes));
        } catch (IOException e) {
          throw new HiveException(e.getMessage(), e);
        }
      });
    }

    @Override
    public CompletableFuture<Channel> openChannel(DiscoveredPeer target, String topic, Duration timeout) {
      String key = target.host() + ":" + target.port();
      Handler handler = listeners.get(key);
      if (handler == null || cut.contains(nodeId) || cut.contains(nodeAt.get(key))) {
        return CompletableFuture.failedFuture(new UnavailableException("cannot reach node " + target.nodeId() + " at " + key));
      }
      try {
        // Two OS pipes, one per direction: real blocking byte streams inside one process.
        java.nio.channels.Pipe toPeer = java.nio.channels.Pipe.open();
        java.nio.channels.Pipe fromPeer = java.nio.channels.Pipe.open();
        PipeChannel peerEnd = new PipeChannel(nodeId, toPeer.source(), fromPeer.sink());
        PipeChannel ourEnd = new PipeChannel(target.nodeId(), fromPeer.source(), toPeer.sink());
        Thread t = new Thread(() -> {
          try (peerEnd) {
            handler.handleChannel(nodeId, topic, peerEnd);
          } catch (IOException | RuntimeException e) {
            // The handler's channel failed; closing it tells the opener.
          }
        }, "hive-memory-channel");
        t.setDaemon(true);
        t.start();
        return CompletableFuture.completedFuture(ourEnd);
      } catch (IOException e) {
        return CompletableFuture.failedFuture(new HiveException("cannot open a pipe: " + e.getMessage(), e));
      }
    }

    private CompletableFuture<byte[]> deliver(DiscoveredPeer target, Duration timeout, java.util.function.Function<Handler, byte[]> call) {
      String key = target.host() + ":" + target.port();
      Handler handler = listeners.get(key);
      if (handler == null) {
        return CompletableFuture.failedFuture(new UnavailableException("cannot reach node " + target.nodeId() + " at " + key + ": nothing listens there"));
      }
      CompletableFuture<byte[]> result = new CompletableFuture<>();
      if (cut.contains(nodeId) || cut.contains(nodeAt.get(key))) {
        return timeouts ? withTimeout(result, target, timeout) : result;
      }
      delivery.execute(() -> {
        delivered.incrementAndGet();
        try {
          result.complete(call.apply(handler));
        } catch (RuntimeException e) {
          result.completeExceptionally(e instanceof HiveException ? e : new HiveException(e.toString(), e));
        }
      });
      return timeouts ? withTimeout(result, target, timeout) : result;
    }

    private CompletableFuture<byte[]> withTimeout(CompletableFuture<byte[]> f, DiscoveredPeer target, Duration timeout) {
      return f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionallyCompose(e -> {
        Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof java.util.concurrent.TimeoutException) {
          return CompletableFuture.failedFuture(new HiveException("request to " + target.nodeId() + " timed out after " + timeout.toMillis() + " ms"));
        }
        return CompletableFuture.failedFuture(cause);
      });
    }

    @Override
    public void close() {
      if (address != null) {
        listeners.remove(address);
        nodeAt.remove(address);
      }
    }
  }

  private static final class PipeChannel implements Transport.Channel {
    private final String peer;
    private final java.nio.channels.Pipe.SourceChannel source;
    private final java.nio.channels.Pipe.SinkChannel sink;

    PipeChannel(String peer, java.nio.channels.Pipe.SourceChannel source, java.nio.channels.Pipe.SinkChannel sink) {
      this.peer = peer;
      this.source = source;
      this.sink = sink;
    }

    @Override
    public String peerNodeId() {
      return peer;
    }

    @Override
    public int read(java.nio.ByteBuffer dst) throws IOException {
      return source.read(dst);
    }

    @Override
    public int write(java.nio.ByteBuffer src) throws IOException {
      int n = src.remaining();
      while (src.hasRemaining()) {
        sink.write(src);
      }
      return n;
    }

    @Override
    public boolean isOpen() {
      return source.isOpen() && sink.isOpen();
    }

    @Override
    public void close() throws IOException {
      source.close();
      sink.close();
    }
  }
}
