package dev.hive.discovery.libp2p.pubsub;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Runs a check once for every caller that asks about the same key while it runs or before the key
 * is forgotten; the others wait for its result. A null result means "valid" and stays until {@link
 * #forget}; any other result (why not) is forgotten at once, so the same bytes are checked again.
 */
final class SingleFlight {
  private final Map<ByteBuffer, CompletableFuture<String>> checks = new ConcurrentHashMap<>();

  /** Returns the check's result for {@code key}: run here, or by the caller that came first. */
  String run(ByteBuffer key, Supplier<String> check) {
    CompletableFuture<String> mine = new CompletableFuture<>();
    CompletableFuture<String> first = checks.putIfAbsent(key, mine);
    if (first != null) {
      return first.join();
    }
    String result;
    try {
      result = check.get();
    } catch (RuntimeException e) {
      checks.remove(key);
      mine.completeExceptionally(e);
      throw e;
    }
    if (result != null) {
      checks.remove(key);
    }
    mine.complete(result);
    return result;
  }

  /** Drops a valid result once its message is marked seen (later copies stop before the check). */
  void forget(ByteBuffer key) {
    checks.remove(key);
  }

  int size() {
    return checks.size();
  }
}
