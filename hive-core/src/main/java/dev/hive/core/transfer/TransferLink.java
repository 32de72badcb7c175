package dev.hive.core.transfer;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/** How a sender reaches one receiving node: requests and encrypted channels over the transport, and its host for plain streams. */
public interface TransferLink {
  /**
   * Sends a request and waits for the answer.
   *
   * @throws dev.hive.api.HiveException with the receiver's message, or when it cannot be reached
   */
  byte[] request(String topic, byte[] payload);

  /** Opens an encrypted channel to the receiver's data handler. */
  Transport.Channel openChannel() throws IOException;

  /** Returns the receiver's host, where its plain port listens. */
  String host();

  /** A link over a transport to the peer {@code peer} names at each call (it may move after a restart). */
  static TransferLink over(Transport transport, Supplier<DiscoveredPeer> peer) {
    Duration timeout = Duration.ofSeconds(60);
    return new TransferLink() {
      @Override
      public byte[] request(String topic, byte[] payload) {
        return await(transport.request(peer.get(), topic, payload, timeout), timeout);
      }

      @Override
      public Transport.Channel openChannel() {
        return await(transport.openChannel(peer.get(), OutgoingTransfer.DATA_TOPIC, Duration.ofSeconds(10)), timeout);
      }

      @Override
      public String host() {
        return peer.get().host();
      }
    };
  }

  private static <T> T await(CompletableFuture<T> f, Duration timeout) {
    try {
      return f.get(timeout.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof HiveException h) {
        throw h;
      }
      throw new HiveException(e.getCause().toString(), e.getCause());
    } catch (TimeoutException e) {
      throw new UnavailableException("the receiving node did not answer in " + timeout.toSeconds() + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnavailableException("interrupted while waiting for the receiving node");
    }
  }
}
