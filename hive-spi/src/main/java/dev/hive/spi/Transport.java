package dev.hive.spi;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Carries node-to-node messages: request/response with timeouts, and requests whose body is a
 * stream (bulk data). The transport authenticates peers ({@code tcp}: mutual TLS; {@code libp2p}:
 * Noise; in-memory: by construction) and names the caller to the handler. Every implementation
 * passes {@code TransportCompatibilityKit} from hive-spi's test-jar.
 */
public interface Transport extends AutoCloseable {
  /**
   * A two-way byte stream between two nodes, for bulk data that should not be framed or copied
   * per message (file transfers). Reads return what has arrived; writes send all of the buffer
   * before returning. Closing it ends the stream for both sides.
   */
  interface Channel extends java.nio.channels.ByteChannel {
    /** Returns the id of the node at the other end, as authenticated by the transport. */
    String peerNodeId();
  }

  /** Answers requests that arrive at this node. Called on the transport's threads, concurrently. */
  interface Handler {
    /**
     * Answers one request.
     *
     * @param fromNode the id of the calling node, as authenticated by the transport
     * @param topic what the request is about, e.g. {@code swim.ping}
     * @param payload the request body
     * @return the response body
     * @throws dev.hive.api.HiveException to answer with an error the caller sees as its message
     */
    byte[] handle(String fromNode, String topic, byte[] payload);

    /**
     * Answers one request whose body is a stream; it is read to its end before this returns.
     *
     * @throws dev.hive.api.HiveException to answer with an error
     */
    default byte[] handleStream(String fromNode, String topic, InputStream body) throws IOException {
      throw new dev.hive.api.HiveException("this node takes no stream on topic '" + topic + "'");
    }

    /**
     * Takes over a channel the caller opened with {@link Transport#openChannel}. It is called on
     * a thread that belongs to this channel; the channel is closed when this returns.
     *
     * @throws IOException when the channel fails; the channel is closed and nothing else happens
     */
    default void handleChannel(String fromNode, String topic, Channel channel) throws IOException {
      channel.close();
    }
  }

  /** Returns the plugin's name. */
  String name();

  /** Returns the id of the node this transport speaks for. */
  String localNodeId();

  /**
   * Starts listening on {@code host}:{@code port} (0 for any free port) and returns the port.
   *
   * @throws dev.hive.api.HiveException if it cannot listen, e.g. the port is in use
   */
  int listen(String host, int port, Handler handler);

  /**
   * Sends a request. The future fails with a {@link dev.hive.api.HiveException}: {@link
   * dev.hive.api.UnavailableException} when the peer cannot be reached or refuses this node, a
   * plain one carrying the peer's message when its handler failed, or on timeout.
   */
  CompletableFuture<byte[]> request(DiscoveredPeer target, String topic, byte[] payload, Duration timeout);

  /**
   * Sends a request whose body is read from {@code body} until its end, and returns the response.
   * Fails as {@link #request} does.
   */
  CompletableFuture<byte[]> stream(DiscoveredPeer target, String topic, InputStream body, Duration timeout);

  /**
   * Opens a {@link Channel} to a peer, whose handler takes it over in {@link
   * Handler#handleChannel}. Authenticated and encrypted as requests are.
   *
   * <p>The future fails with {@link dev.hive.api.UnavailableException} when the peer cannot be
   * reached, and with a {@link dev.hive.api.HiveException} when this transport has no channels.
   */
  default CompletableFuture<Channel> openChannel(DiscoveredPeer target, String topic, Duration timeout) {
    return CompletableFuture.failedFuture(new dev.hive.api.HiveException("the " + name() + " transport has no channels"));
  }

  /** Stops listening and closes connections; pending requests fail. */
  @Override
  void close();
}
