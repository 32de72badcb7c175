package dev.hive.examples.plugin;

import dev.hive.api.HiveException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Peers from a file, re-read when it changes (as Prometheus' file-based discovery does). The file
 * {@code <dir>/<cluster>.peers} holds one line per node: {@code nodeId host port mac}, the MAC an
 * HMAC-SHA256 of the rest keyed by the join token, so a line written without the token is ignored.
 * Each node adds its own line on start and removes it on close, under a file lock.
 */
final class FileDiscovery implements Discovery {
  private final Path file;
  private final String cluster;
  private final byte[] key;
  private final long pollMillis;
  private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "hive-file-discovery");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, DiscoveredPeer> known = new HashMap<>();
  private volatile DiscoveredPeer self;
  private long lastModified = -1;
  private long lastSize = -1;

  FileDiscovery(Path file, String cluster, String token, long pollMillis) {
    this.file = file;
    this.cluster = cluster;
    this.key = token.getBytes(StandardCharsets.UTF_8);
    this.pollMillis = pollMillis;
  }

  @Override
  public String name() {
    return "file";
  }

  @Override
  public void start(DiscoveredPeer self, Listener listener) {
    this.self = self;
    register(self);
    poller.scheduleWithFixedDelay(() -> refresh(listener), 0, pollMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void update(DiscoveredPeer self) {
    this.self = self;
    register(self);
  }

  /** Re-reads the file when its timestamp or size changed, and reports what appeared and went. */
  private synchronized void refresh(Listener listener) {
    try {
      if (!Files.exists(file)) {
        return;
      }
      long modified = Files.getLastModifiedTime(file).toMillis();
      long size = Files.size(file);
      if (modified == lastModified && size == lastSize) {
        return;
      }
      lastModified = modified;
      lastSize = size;
      Map<String, DiscoveredPeer> now = new HashMap<>();
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        DiscoveredPeer peer = parse(line);
        if (peer != null && !peer.nodeId().equals(self.nodeId())) {
          now.put(peer.nodeId(), peer);
        }
      }
      for (DiscoveredPeer peer : now.values()) {
        if (!peer.equals(known.get(peer.nodeId()))) {
          listener.peerFound(peer);
        }
      }
      for (DiscoveredPeer gone : new ArrayList<>(known.values())) {
        if (!now.containsKey(gone.nodeId())) {
          listener.peerLost(gone);
        }
      }
      known.clear();
      known.putAll(now);
    } catch (IOException e) {
      // The file is being replaced: read it on the next poll.
    }
  }

  private DiscoveredPeer parse(String line) {
    String[] f = line.trim().split("\\s+");
    if (f.length != 4 || line.startsWith("#")) {
      return null;
    }
    try {
      int port = Integer.parseInt(f[2]);
      byte[] mac = Base64.getDecoder().decode(f[3]);
      return MessageDigest.isEqual(mac, mac(f[0], f[1], port)) ? new DiscoveredPeer(f[0], f[1], port) : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private byte[] mac(String nodeId, String host, int port) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal((cluster + "|" + nodeId + "|" + host + "|" + port).getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  private void register(DiscoveredPeer peer) {
    rewrite(peer.nodeId(), peer.nodeId() + " " + peer.host() + " " + peer.port() + " "
        + Base64.getEncoder().encodeToString(mac(peer.nodeId(), peer.host(), peer.port())));
  }

  /** Replaces this node's line (or removes it when {@code line} is null), holding the file's lock. */
  private void rewrite(String nodeId, String line) {
    try {
      Files.createDirectories(file.getParent());
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"); FileLock lock = raf.getChannel().lock()) {
        byte[] bytes = new byte[(int) raf.length()];
        raf.readFully(bytes);
        List<String> lines = new ArrayList<>();
        for (String l : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
          if (!l.isBlank() && !l.startsWith(nodeId + " ")) {
            lines.add(l);
          }
        }
        if (line != null) {
          lines.add(line);
        }
        byte[] out = (String.join("\n", lines) + (lines.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8);
        raf.setLength(0);
        raf.write(out);
      }
    } catch (IOException e) {
      throw new HiveException("file discovery cannot update " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    poller.shutdownNow();
    if (self != null) {
      rewrite(self.nodeId(), null);
    }
  }
}
