package dev.hive.core.transfer;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers of chunk size, kept for the next chunk or transfer: a stream takes one when it
 * starts and gives it back when it ends, so the hot path allocates nothing. At most {@code limit}
 * bytes are kept idle; more are left to the collector.
 */
public final class BufferPool {
  private final ConcurrentHashMap<Integer, ConcurrentLinkedDeque<ByteBuffer>> idle = new ConcurrentHashMap<>();
  private final AtomicLong idleBytes = new AtomicLong();
  private final AtomicLong allocated = new AtomicLong();
  private final long limit;

  /** A pool that keeps at most {@code limit} idle bytes. */
  public BufferPool(long limit) {
    this.limit = limit;
  }

  /** Returns a cleared direct buffer of exactly {@code size} bytes. */
  public ByteBuffer take(int size) {
    ByteBuffer b = idle.computeIfAbsent(size, s -> new ConcurrentLinkedDeque<>()).pollFirst();
    if (b == null) {
      allocated.incrementAndGet();
      return ByteBuffer.allocateDirect(size);
    }
    idleBytes.addAndGet(-size);
    return b.clear();
  }

  /** Gives a buffer back. */
  public void give(ByteBuffer b) {
    if (idleBytes.addAndGet(b.capacity()) > limit) {
      idleBytes.addAndGet(-b.capacity());
      return;
    }
    idle.computeIfAbsent(b.capacity(), s -> new ConcurrentLinkedDeque<>()).offerFirst(b);
  }

  /** Returns how many buffers were ever allocated: flat when buffers are reused. */
  public long allocated() {
    return allocated.get();
  }
}
