package dev.hive.spi;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Carries node-to-node messages (tcp with mutual TLS, libp2p with Noise, in-memory for
 * simulation). Request/response with timeouts; bulk streams and the transport compatibility kit
 * arrive with the issue "Cluster formation".
 */
public interface Transport extends AutoCloseable {
  /** Answers requests that arrive at this node. */
  interface Handler {
    /**
     * Answers one request.
     *
     * @param fromNode the id of the calling node, as authenticated by the transport
     * @param topic what the request is about, e.g. {@code membership.ping}
     * @param payload the request body
     * @return the response body
     */
    byte[] handle(String fromNode, String topic, byte[] payload);
  }

  /** Returns the plugin's name. */
  String name();

  /**
   * Starts listening on {@code host}:{@code port} (0 for any free port) and returns the port.
   *
   * @throws dev.hive.api.HiveException if it cannot listen
   */
  int listen(String host, int port, Handler handler);

  /** Sends a request; the future fails with a {@link dev.hive.api.HiveException} on timeout or refusal. */
  CompletableFuture<byte[]> request(DiscoveredPeer target, String topic, byte[] payload, Duration timeout);

  /** Stops listening and closes connections. */
  @Override
  void close();
}
