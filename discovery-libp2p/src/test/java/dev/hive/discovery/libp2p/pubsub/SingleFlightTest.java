package dev.hive.discovery.libp2p.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SingleFlightTest {
  private final SingleFlight flight = new SingleFlight();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private static final ByteBuffer COPY = ByteBuffer.wrap(new byte[] {1, 2, 3});
  private static final ByteBuffer OTHER = ByteBuffer.wrap(new byte[] {9});

  @AfterEach
  void stop() {
    threads.shutdownNow();
  }

  @Test
  void aCopyArrivingWhileTheFirstIsCheckedWaitsForThatCheck() throws Exception {
    CountDownLatch checking = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger checks = new AtomicInteger();
    Future<String> first = threads.submit(() -> flight.run(COPY, () -> {
      checks.incrementAndGet();
      checking.countDown();
      await(release);
      return null;
    }));
    assertThat(checking.await(10, TimeUnit.SECONDS)).isTrue();
    Future<String> second = threads.submit(() -> flight.run(COPY, () -> {
      checks.incrementAndGet();
      return "the second copy was checked again";
    }));
    // Whether the second copy comes while the check runs or after it ended, it is not checked again.
    release.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS)).isNull();
    assertThat(second.get(10, TimeUnit.SECONDS)).isNull();
    assertThat(checks).hasValue(1);
  }

  @Test
  void otherBytesAreCheckedOnTheirOwn() {
    assertThat(flight.run(COPY, () -> null)).isNull();
    assertThat(flight.run(OTHER, () -> "bad signature")).isEqualTo("bad signature");
    // Until forgotten, a valid copy's result stands for later copies of the same bytes.
    assertThat(flight.run(COPY, () -> "checked again")).isNull();
    flight.forget(COPY);
    assertThat(flight.run(COPY, () -> "checked again")).isEqualTo("checked again");
  }

  @Test
  void anInvalidResultIsNotKeptSoTheSameBytesAreCheckedAgain() {
    assertThat(flight.run(OTHER, () -> "bad signature")).isEqualTo("bad signature");
    assertThat(flight.size()).isZero();
    assertThat(flight.run(OTHER, () -> "bad again")).isEqualTo("bad again");
  }

  @Test
  void aCheckThatThrowsLeavesNothingBehindAndTheWaitersSeeItsFailure() throws Exception {
    CountDownLatch checking = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<String> first = threads.submit(() -> flight.run(COPY, () -> {
      checking.countDown();
      await(release);
      throw new IllegalStateException("decoder bug");
    }));
    assertThat(checking.await(10, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<String> second = CompletableFuture.supplyAsync(() -> flight.run(COPY, () -> null), threads);
    release.countDown();
    assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("decoder bug");
    // The waiter joined the failed check, or came after it was dropped and checked anew.
    assertThat(second.handle((r, e) -> e == null ? "checked anew" : "failed with the first").get(10, TimeUnit.SECONDS)).isNotNull();
    assertThat(flight.size()).isLessThanOrEqualTo(1);
    flight.forget(COPY);
    assertThat(flight.size()).isZero();
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
