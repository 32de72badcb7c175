package dev.hive.core.sim;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;

/**
 * A network in virtual time for simulations of many nodes on one thread: every message takes
 * {@code latency} to arrive, and every node is one processor that spends {@code perMessage} plus
 * {@code perByte} for each byte on each message it sends or handles, one at a time, so that a
 * node with more to do answers later. Events run in time order on the caller's thread ({@link
 * #runUntil}); the {@link VirtualClock} moves with them. Never a stand-in for what an integration
 * test claims to test.
 */
public final class EventNetwork {
  private record Event(long atNanos, long seq, Runnable action) {}

  private final VirtualClock clock;
  private final long latencyNanos;
  private final long perMessageNanos;
  private final double perByteNanos;
  private final PriorityQueue<Event> events = new PriorityQueue<>((a, b) -> a.atNanos != b.atNanos ? Long.compare(a.atNanos, b.atNanos) : Long.compare(a.seq, b.seq));
  private final Map<String, Transport.Handler> listeners = new HashMap<>();
  private final Map<String, Long> busyUntil = new HashMap<>();
  private final Map<String, long[]> counters = new HashMap<>();
  private long now;
  private long seq;

  public EventNetwork(VirtualClock clock, Duration latency, Duration perMessage, double perByteNanos) {
    this.clock = clock;
    this.latencyNanos = latency.toNanos();
    this.perMessageNanos = perMessage.toNanos();
    this.perByteNanos = perByteNanos;
  }

  /** Returns the virtual time in nanoseconds since the network was made. */
  public long nanos() {
    return now;
  }

  /** Runs {@code action} at {@code atNanos} (virtual). */
  public void at(long atNanos, Runnable action) {
    events.add(new Event(Math.max(atNanos, now), seq++, action));
  }

  /** Runs events in time order until none is due before {@code untilNanos}; the clock ends there. */
  public void runUntil(long untilNanos) {
    while (!events.isEmpty() && events.peek().atNanos <= untilNanos) {
      Event e = events.poll();
      advanceTo(e.atNanos);
      e.action.run();
    }
    advanceTo(untilNanos);
  }

  private void advanceTo(long nanos) {
    if (nanos > now) {
      clock.advance(Duration.ofNanos(nanos - now));
      now = nanos;
    }
  }

  /** Returns, for a node: messages sent, bytes sent, messages handled, bytes handled, processor nanoseconds spent. */
  public long[] counters(String nodeId) {
    return counters.computeIfAbsent(nodeId, k -> new long[5]).clone();
  }

  /** Occupies {@code node}'s processor for one message of {@code bytes}, from the earliest it is free; returns when it is done. */
  private long work(String node, int bytes, boolean sending) {
    long cost = perMessageNanos + (long) (bytes * perByteNanos);
    long start = Math.max(now, busyUntil.getOrDefault(node, 0L));
    long done = start + cost;
    busyUntil.put(node, done);
    long[] c = counters.computeIfAbsent(node, k -> new long[5]);
    c[sending ? 0 : 2]++;
    c[sending ? 1 : 3] += bytes;
    c[4] += cost;
    return done;
  }

  /** Returns a transport for {@code nodeId} on this network. */
  public Transport transport(String nodeId) {
    return new Transport() {
      private String address;

      @Override
      public String name() {
        return "event-sim";
      }

      @Override
      public String localNodeId() {
        return nodeId;
      }

      @Override
      public int listen(String host, int port, Handler handler) {
        address = host + ":" + port;
        listeners.put(address, handler);
        return port;
      }

      @Override
      public CompletableFuture<byte[]> request(DiscoveredPeer target, String topic, byte[] payload, Duration timeout) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        Handler handler = listeners.get(target.host() + ":" + target.port());
        if (handler == null) {
          result.completeExceptionally(new UnavailableException("nothing listens at " + target.host() + ":" + target.port()));
          return result;
        }
        long sent = work(nodeId, payload.length, true);
        at(sent + latencyNanos, () -> {
          long handled = work(target.nodeId(), payload.length, false);
          at(handled, () -> {
            byte[] answer;
            try {
              answer = handler.handle(nodeId, topic, payload);
            } catch (HiveException e) {
              at(now + latencyNanos, () -> result.completeExceptionally(e));
              return;
            }
            long answered = work(target.nodeId(), answer.length, true);
            at(answered + latencyNanos, () -> {
              long taken = work(nodeId, answer.length, false);
              at(taken, () -> result.complete(answer));
            });
          });
        });
        return result;
      }

      @Override
      public CompletableFuture<byte[]> stream(DiscoveredPeer target, String topic, InputStream body, Duration timeout) {
        try {
          return request(target, topic, body.readAllBytes(), timeout);
        } catch (IOException e) {
          return CompletableFuture.failedFuture(new HiveException(e.getMessage(), e));
        }
      }

      @Override
      public void close() {
        listeners.remove(address);
      }
    };
  }
}
