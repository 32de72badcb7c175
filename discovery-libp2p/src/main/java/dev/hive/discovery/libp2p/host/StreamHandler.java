package dev.hive.discovery.libp2p.host;

import dev.hive.discovery.libp2p.wire.Yamux;
import java.io.IOException;

/** Serves streams of one protocol that peers open to this host. */
@FunctionalInterface
public interface StreamHandler {
  /**
   * Serves one stream; it is closed (reset if unfinished) when this returns.
   *
   * @throws IOException when the stream fails or carries garbage: only this stream is closed
   */
  void handle(Connection connection, Yamux.Stream stream) throws IOException;
}
