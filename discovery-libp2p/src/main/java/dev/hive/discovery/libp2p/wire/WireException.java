package dev.hive.discovery.libp2p.wire;

import java.io.IOException;

/**
 * Bytes from a peer that break a protocol: a malformed varint, protobuf, multistream line, Noise
 * or yamux frame, a length over its limit, a bad signature. Whoever reads the bytes closes the
 * stream or connection they arrived on, and nothing else.
 */
public final class WireException extends IOException {
  private static final long serialVersionUID = 1L;

  public WireException(String message) {
    super(message);
  }

  public WireException(String message, Throwable cause) {
    super(message, cause);
  }
}
