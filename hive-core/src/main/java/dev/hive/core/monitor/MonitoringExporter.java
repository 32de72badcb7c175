package dev.hive.core.monitor;

import dev.hive.api.InvalidSpecException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pushes the node's samples to an external monitoring API, as Node Controller does
 * ({@code MONITORING_API_URL}, {@code MONITORING_API_KEY}): one JSON batch per interval, POSTed
 * with the key in {@code X-API-Key} and {@code Authorization: Bearer}. When the API is down,
 * batches wait in a bounded buffer (the oldest dropped first, and counted) and delivery is retried
 * with exponential backoff and jitter, so an API that stays down never grows memory. The key is
 * never logged.
 */
public final class MonitoringExporter {
  private static final Logger log = LoggerFactory.getLogger(MonitoringExporter.class);
  static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

  private final URI url;
  private final String key;
  private final Duration interval;
  private final int maxBatches;
  private final Clock clock;
  private final HttpClient http;
  private final Deque<byte[]> pending = new ArrayDeque<>();
  private long pendingBytes;
  private long delivered;
  private long dropped;
  private long failures;
  private int consecutiveFailures;
  private long nextAttemptAtMillis;

  /**
   * @param url the monitoring API's batch endpoint
   * @param key its API key
   * @param interval how often a batch is made
   * @param maxBatches how many undelivered batches are kept at most
   * @throws InvalidSpecException if the URL is not http(s), or a number is out of range
   */
  public MonitoringExporter(String url, String key, Duration interval, int maxBatches, Clock clock) {
    URI uri;
    try {
      uri = URI.create(url.trim());
    } catch (IllegalArgumentException e) {
      throw new InvalidSpecException("MONITORING_API_URL", "'" + url + "' is not a URL: " + e.getMessage());
    }
    if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
      throw new InvalidSpecException("MONITORING_API_URL", "'" + url + "' is not an http(s) URL, e.g. http://localhost:3000/api/metrics");
    }
    if (interval.isNegative() || interval.isZero()) {
      throw new InvalidSpecException("MONITORING_INTERVAL", interval + " is not an interval; use e.g. 10s");
    }
    if (maxBatches < 1) {
      throw new InvalidSpecException("hive.monitoring.buffer", maxBatches + " batches; keep at least 1");
    }
    this.url = uri;
    this.key = key == null ? "" : key;
    this.interval = interval;
    this.maxBatches = maxBatches;
    this.clock = clock;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** Returns how often {@link #tick} should run. */
  public Duration interval() {
    return interval;
  }

  /** Queues a batch made by {@code batch}, then delivers what waits, unless backing off. */
  public void tick(Supplier<byte[]> batch) {
    enqueue(batch.get());
    deliver();
  }

  synchronized void enqueue(byte[] body) {
    pending.addLast(body);
    pendingBytes += body.length;
    while (pending.size() > maxBatches) {
      pendingBytes -= pending.removeFirst().length;
      dropped++;
    }
  }

  /** Sends waiting batches, oldest first, until one fails; a failure sets the next attempt back. */
  void deliver() {
    if (clock.millis() < nextAttemptAtMillis) {
      return;
    }
    while (true) {
      byte[] body;
      synchronized (this) {
        body = pending.peekFirst();
      }
      if (body == null) {
        return;
      }
      String problem = send(body);
      synchronized (this) {
        if (problem == null) {
          if (pending.peekFirst() == body) {
            pending.removeFirst();
            pendingBytes -= body.length;
          }
          delivered++;
          if (consecutiveFailures > 0) {
            log.info("monitoring API {} reachable again; {} batches waiting", url, pending.size());
          }
          consecutiveFailures = 0;
          nextAttemptAtMillis = 0;
          continue;
        }
        failures++;
        consecutiveFailures++;
        long backoff = Math.min(MAX_BACKOFF.toMillis(), interval.toMillis() << Math.min(consecutiveFailures - 1, 20));
        backoff += ThreadLocalRandom.current().nextLong(backoff / 4 + 1);
        nextAttemptAtMillis = clock.millis() + backoff;
        if (consecutiveFailures == 1 || consecutiveFailures % 10 == 0) {
          log.warn("cannot push metrics to {} ({}); {} batches waiting, retrying in {} ms", url, problem, pending.size(), backoff);
        }
        return;
      }
    }
  }

  /** POSTs one batch; returns null on success, else what went wrong (never the key). */
  private String send(byte[] body) {
    HttpRequest request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .header("X-API-Key", key)
        .header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    try {
      HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
      return response.statusCode() / 100 == 2 ? null : "HTTP " + response.statusCode();
    } catch (java.io.IOException e) {
      return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** Counters: batches delivered, dropped (buffer full), failed attempts, waiting, and the bytes waiting. */
  public record Stats(long delivered, long dropped, long failures, int pending, long pendingBytes) {}

  /** Returns the exporter's counters. */
  public synchronized Stats stats() {
    return new Stats(delivered, dropped, failures, pending.size(), pendingBytes);
  }
}
