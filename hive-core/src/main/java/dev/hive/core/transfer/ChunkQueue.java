package dev.hive.core.transfer;

import java.util.ArrayDeque;

/**
 * The chunks a transfer still has to send, shared by its streams. A chunk taken is in flight
 * until the receiver verifies it ({@link #done}) or refuses it ({@link #retry}, which puts it
 * first again). {@link #take} waits while chunks are in flight that may come back, and returns -1
 * once everything is verified or the queue is aborted.
 */
final class ChunkQueue {
  private final ArrayDeque<Integer> pending = new ArrayDeque<>();
  private final int[] attempts;
  private final int maxAttempts;
  private int inFlight;
  private boolean aborted;

  ChunkQueue(int chunks, java.util.BitSet verified, int maxAttempts) {
    this.attempts = new int[chunks];
    this.maxAttempts = maxAttempts;
    for (int i = 0; i < chunks; i++) {
      if (!verified.get(i)) {
        pending.add(i);
      }
    }
  }

  /** Returns the next chunk to send, or -1 when there is none left or the transfer stopped. */
  synchronized int take() throws InterruptedException {
    while (!aborted && pending.isEmpty() && inFlight > 0) {
      wait();
    }
    if (aborted || pending.isEmpty()) {
      return -1;
    }
    inFlight++;
    int chunk = pending.pollFirst();
    attempts[chunk]++;
    return chunk;
  }

  /** The receiver verified a chunk. */
  synchronized void done(int chunk) {
    inFlight--;
    notifyAll();
  }

  /**
   * The receiver refused a chunk: it goes first again.
   *
   * @return false if it has failed {@code maxAttempts} times: the queue is aborted
   */
  synchronized boolean retry(int chunk) {
    inFlight--;
    notifyAll();
    if (attempts[chunk] >= maxAttempts) {
      aborted = true;
      return false;
    }
    pending.addFirst(chunk);
    return true;
  }

  /** Stops every stream's next {@link #take}. */
  synchronized void abort() {
    aborted = true;
    notifyAll();
  }

  synchronized boolean aborted() {
    return aborted;
  }

  /** Returns true when every chunk is verified. */
  synchronized boolean complete() {
    return !aborted && pending.isEmpty() && inFlight == 0;
  }
}
