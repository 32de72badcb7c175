package dev.hive.discovery.libp2p;

import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.kad.Kademlia;
import dev.hive.discovery.libp2p.pubsub.Gossipsub;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One libp2p node per Hive node (per data dir): host, DHT and gossipsub, shared by the discovery
 * and the transport of that node and closed when the last of them closes. Its identity is kept in
 * {@code <data dir>/libp2p/identity.key}.
 */
final class Libp2pNode implements AutoCloseable {
  static final String PORT = "hive.libp2p.port";
  static final String BIND = "hive.libp2p.bind";
  static final String BOOTSTRAP = "hive.libp2p.bootstrap";
  static final String DHT_PROTOCOL = "hive.libp2p.dht-protocol";
  static final String HEARTBEAT = "hive.libp2p.heartbeat";
  private static final Map<Path, Libp2pNode> OPEN = new HashMap<>();

  final Host host;
  final Kademlia dht;
  final Gossipsub pubsub;
  final List<Multiaddr> bootstrap;
  final byte[] tokenKey;
  private final Path key;
  private int users;

  private Libp2pNode(Path key, ProviderConfig config) throws IOException {
    this.key = key;
    String token = config.setting(Discovery.TOKEN_SETTING)
        .orElseThrow(() -> new HiveException("libp2p needs the cluster's join token (setting " + Discovery.TOKEN_SETTING + "): give every node the same --token"));
    this.tokenKey = hmac(token.getBytes(StandardCharsets.UTF_8), ("hive-libp2p:" + config.clusterName()).getBytes(StandardCharsets.UTF_8));
    this.bootstrap = parseBootstrap(config.setting(BOOTSTRAP).orElse(""));
    int port = port(config);
    PeerKeys keys = PeerKeys.loadOrCreate(config.dataDir().resolve("libp2p").resolve("identity.key"));
    this.host = new Host(keys, "hive/0.1.0");
    this.dht = new Kademlia(host, config.setting(DHT_PROTOCOL).orElse(Kademlia.DEFAULT_PROTOCOL), config.clock());
    this.dht.validator("hive", (k, v) -> {
      if (v.length > 16 * 1024) {
        throw new dev.hive.discovery.libp2p.wire.WireException("a /hive/ record is at most 16 KiB");
      }
    });
    this.pubsub = new Gossipsub(host, config.duration(HEARTBEAT, Duration.ofSeconds(1)));
    try {
      host.listen(config.setting(BIND).orElse("0.0.0.0"), port);
    } catch (IOException e) {
      close();
      throw new dev.hive.api.UnavailableException(e.getMessage());
    }
  }

  private static int port(ProviderConfig config) {
    String text = config.setting(PORT).orElse("0");
    try {
      int port = Integer.parseInt(text.trim());
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new InvalidSpecException(PORT, "'" + text + "' is not a port; give 0-65535 (0: any free port)");
  }

  static List<Multiaddr> parseBootstrap(String text) {
    List<Multiaddr> out = new ArrayList<>();
    for (String part : text.split(",")) {
      if (part.isBlank()) {
        continue;
      }
      Multiaddr addr;
      try {
        addr = Multiaddr.parse(part.trim());
      } catch (IllegalArgumentException e) {
        throw new InvalidSpecException(BOOTSTRAP, e.getMessage());
      }
      if (!addr.isDialableTcp() || addr.peerId().isEmpty()) {
        throw new InvalidSpecException(BOOTSTRAP, "'" + part.trim() + "' must be a TCP address ending in /p2p/<peer id>, e.g. /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...");
      }
      out.add(addr);
    }
    return out;
  }

  /** Returns the node of {@code config}'s data dir, starting it if it is not running. */
  static synchronized Libp2pNode acquire(ProviderConfig config) {
    Path key = config.dataDir().toAbsolutePath().normalize();
    Libp2pNode node = OPEN.get(key);
    if (node == null) {
      try {
        node = new Libp2pNode(key, config);
      } catch (IOException e) {
        throw new HiveException("cannot start libp2p: " + e.getMessage(), e);
      }
      OPEN.put(key, node);
    }
    node.users++;
    return node;
  }

  /** Releases one user; the last one closes the node. */
  void release() {
    synchronized (Libp2pNode.class) {
      if (--users > 0) {
        return;
      }
      OPEN.remove(key, this);
    }
    close();
  }

  /** Returns this node's addresses, each ending in its peer id. */
  List<Multiaddr> multiaddrs() {
    return host.listenAddrs().stream().map(a -> a.withPeerId(host.peerId())).toList();
  }

  byte[] mac(String purpose, String... parts) {
    return hmac(tokenKey, (purpose + "|" + String.join("|", parts)).getBytes(StandardCharsets.UTF_8));
  }

  static byte[] hmac(byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    pubsub.close();
    dht.close();
    host.close();
  }
}
