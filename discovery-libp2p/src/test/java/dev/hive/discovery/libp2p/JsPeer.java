package dev.hive.discovery.libp2p;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.spi.kit.RequiredRuntime;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real js-libp2p peer in a Node process ({@code src/test/js/peer.mjs}), installed with {@code
 * npm ci} from the pinned lock file into {@code target/js} on first use, and driven by JSON lines.
 */
final class JsPeer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path SOURCE = Path.of("src/test/js");
  private static final Path INSTALL = Path.of("target/js");

  private final Process process;
  private final OutputStream stdin;
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final AtomicInteger nextId = new AtomicInteger();
  final BlockingQueue<JsonNode> messages = new LinkedBlockingQueue<>();
  final PeerId peerId;
  final Multiaddr addr;

  /** Installs the js stack if needed; skips the test (fails under CI) when Node or npm is missing. */
  static synchronized void install() {
    RequiredRuntime.require("node and npm", which("node") && which("npm"), "Node.js 20 and npm are needed to run js-libp2p peers (apt-get install nodejs npm)");
    try {
      Files.createDirectories(INSTALL);
      for (String f : List.of("package.json", "package-lock.json", "peer.mjs")) {
        Files.copy(SOURCE.resolve(f), INSTALL.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
      if (!Files.isDirectory(INSTALL.resolve("node_modules/libp2p"))) {
        Process npm = new ProcessBuilder("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
            .directory(INSTALL.toFile()).redirectErrorStream(true).start();
        String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!npm.waitFor(10, TimeUnit.MINUTES) || npm.exitValue() != 0) {
          RequiredRuntime.require("the pinned js-libp2p stack", false, "npm ci failed: " + output);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot install the js peer: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static boolean which(String tool) {
    try {
      return new ProcessBuilder("sh", "-c", "command -v " + tool).start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** Starts a peer; {@code options} as peer.mjs reads them (port, topics, dhtProtocol). */
  static JsPeer start(Map<String, Object> options) throws Exception {
    install();
    return new JsPeer(options);
  }

  private JsPeer(Map<String, Object> options) throws Exception {
    process = new ProcessBuilder("node", "peer.mjs", JSON.writeValueAsString(options))
        .directory(INSTALL.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    stdin = process.getOutputStream();
    BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<JsonNode> ready = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        for (String line; (line = reader.readLine()) != null; ) {
          JsonNode n = JSON.readTree(line);
          if ("ready".equals(n.path("event").asText())) {
            ready.complete(n);
          } else if ("message".equals(n.path("event").asText())) {
            messages.add(n);
          } else if (n.has("id")) {
            CompletableFuture<JsonNode> f = pending.remove(n.get("id").asInt());
            if (f != null) {
              f.complete(n);
            }
          }
        }
      } catch (IOException e) {
        ready.completeExceptionally(e);
      }
      ready.completeExceptionally(new IOException("js peer exited"));
      pending.values().forEach(f -> f.completeExceptionally(new IOException("js peer exited")));
    }, "js-peer-reader");
    t.setDaemon(true);
    t.start();
    JsonNode hello = ready.get(60, TimeUnit.SECONDS);
    peerId = PeerId.parse(hello.get("peerId").asText());
    addr = Multiaddr.parse(hello.get("addrs").get(0).asText());
  }

  /** Runs a command and returns its {@code ok} value; a js error fails with its text. */
  JsonNode call(String cmd, Object... keyValues) throws Exception {
    ObjectNode c = JSON.createObjectNode();
    int id = nextId.incrementAndGet();
    c.put("id", id).put("cmd", cmd);
    for (int i = 0; i < keyValues.length; i += 2) {
      c.set((String) keyValues[i], JSON.valueToTree(keyValues[i + 1]));
    }
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    pending.put(id, answer);
    synchronized (stdin) {
      stdin.write((c + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
    }
    JsonNode n = answer.get(60, TimeUnit.SECONDS);
    if (n.has("error")) {
      throw new IllegalStateException("js " + cmd + " failed: " + n.get("error").asText());
    }
    return n.get("ok");
  }

  static String b64(byte[] data) {
    return Base64.getEncoder().encodeToString(data);
  }

  static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  @Override
  public void close() {
    try {
      call("stop");
    } catch (Exception e) {
      // Killed below anyway.
    }
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
