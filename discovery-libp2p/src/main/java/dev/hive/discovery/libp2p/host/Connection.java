package dev.hive.discovery.libp2p.host;

import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.Multistream;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.Yamux;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/** A secured, multiplexed connection to one peer. */
public final class Connection {
  private final PeerId remotePeer;
  private final Multiaddr remoteAddress;
  private final boolean outbound;
  private final Yamux muxer;
  private final CompletableFuture<PeerInfo> identified = new CompletableFuture<>();
  private final Map<String, Object> attributes = new ConcurrentHashMap<>();

  Connection(PeerId remotePeer, Multiaddr remoteAddress, boolean outbound, Yamux muxer) {
    this.remotePeer = remotePeer;
    this.remoteAddress = remoteAddress;
    this.outbound = outbound;
    this.muxer = muxer;
  }

  /** Returns the peer, as authenticated by Noise. */
  public PeerId remotePeer() {
    return remotePeer;
  }

  /** Returns the address of the other end of the socket. */
  public Multiaddr remoteAddress() {
    return remoteAddress;
  }

  public boolean outbound() {
    return outbound;
  }

  public boolean isOpen() {
    return muxer.isOpen();
  }

  /** Completes once the peer answered identify. */
  public CompletableFuture<PeerInfo> identified() {
    return identified;
  }

  /** Completes when the connection ends. */
  public CompletableFuture<Void> closed() {
    return muxer.closedFuture();
  }

  /** Per-connection state kept by protocols (e.g. who the peer is to Hive). */
  public Map<String, Object> attributes() {
    return attributes;
  }

  /** A stream and the protocol agreed on it. */
  public record Opened(Yamux.Stream stream, String protocol) {}

  /**
   * Opens a stream and agrees on the first of {@code protocols} the peer supports.
   *
   * @throws Multistream.NotSupportedException if it supports none
   * @throws IOException if the connection fails
   */
  public Opened newStream(List<String> protocols) throws IOException {
    Yamux.Stream stream = muxer.open();
    try {
      return new Opened(stream, Multistream.select(stream.in(), stream.out(), protocols));
    } catch (IOException | RuntimeException e) {
      stream.reset();
      throw e;
    }
  }

  /**
   * Opens a stream without agreeing on a protocol: the caller sends {@link Multistream#propose}
   * with its first bytes and reads the answer with {@link Multistream#confirm}.
   *
   * @throws IOException if the connection is closed
   */
  public Yamux.Stream newStream() throws IOException {
    return muxer.open();
  }

  /** Sends a yamux ping; completes with the round trip in milliseconds. */
  public CompletableFuture<Long> keepAlive() {
    return muxer.ping();
  }

  void completeIdentify(PeerInfo info) {
    identified.complete(info);
  }

  public void close() {
    muxer.close();
  }

  @Override
  public String toString() {
    return (outbound ? "to " : "from ") + remotePeer + " at " + remoteAddress;
  }
}
