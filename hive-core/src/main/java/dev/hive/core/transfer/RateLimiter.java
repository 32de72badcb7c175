package dev.hive.core.transfer;

/**
 * A token bucket shared by a transfer's streams: at most {@code bytesPerSecond} on average, with
 * bursts up to a tenth of a second's worth. Time and waiting are injected, so it is tested in
 * virtual time.
 */
final class RateLimiter {
  /** Reads a monotonic clock in nanoseconds. */
  interface Ticker {
    long nanos();
  }

  /** Waits; {@link Thread#sleep} in production. */
  interface Sleeper {
    void sleepNanos(long nanos) throws InterruptedException;
  }

  private final long bytesPerSecond;
  private final long burst;
  private final Ticker ticker;
  private final Sleeper sleeper;
  private double available;
  private long last;

  RateLimiter(long bytesPerSecond, Ticker ticker, Sleeper sleeper) {
    this.bytesPerSecond = bytesPerSecond;
    this.burst = Math.max(64 * 1024, bytesPerSecond / 10);
    this.ticker = ticker;
    this.sleeper = sleeper;
    this.last = ticker.nanos();
    this.available = burst;
  }

  static RateLimiter system(long bytesPerSecond) {
    return new RateLimiter(bytesPerSecond, System::nanoTime, nanos -> Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)));
  }

  /** Waits until {@code bytes} may be sent. */
  void acquire(long bytes) throws InterruptedException {
    long wait;
    synchronized (this) {
      long now = ticker.nanos();
      available = Math.min(burst, available + (now - last) * (double) bytesPerSecond / 1e9);
      last = now;
      available -= bytes;
      wait = available >= 0 ? 0 : (long) (-available * 1e9 / bytesPerSecond);
    }
    if (wait > 0) {
      sleeper.sleepNanos(wait);
    }
  }
}
