package dev.hive.spi.kit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Transport} must do. A transport's test extends this class and opens two
 * transports, for nodes {@code node-a} and {@code node-b}, that trust each other.
 */
public abstract class TransportCompatibilityKit {
  protected static final Duration TIMEOUT = Duration.ofSeconds(10);

  protected Transport a;
  protected Transport b;
  protected DiscoveredPeer bPeer;
  /** Lets the "slow" topic answer. */
  protected final CountDownLatch release = new CountDownLatch(1);

  /** Opens the transport of {@code nodeId}; both nodes of a test must trust each other. */
  protected abstract Transport open(String nodeId);

  /** Returns the host the transports listen on. */
  protected String host() {
    return "127.0.0.1";
  }

  @BeforeEach
  void openBoth() {
    a = open("node-a");
    b = open("node-b");
    a.listen(host(), 0, echo("node-a"));
    int port = b.listen(host(), 0, echo("node-b"));
    bPeer = new DiscoveredPeer("node-b", host(), port);
  }

  @AfterEach
  void closeBoth() {
    release.countDown();
    a.close();
    b.close();
  }

  private Transport.Handler echo(String self) {
    return new Transport.Handler() {
      @Override
      public byte[] handle(String fromNode, String topic, byte[] payload) {
        switch (topic) {
          case "whoami":
            return fromNode.getBytes(StandardCharsets.UTF_8);
          case "fail":
            throw new HiveException("refused: " + new String(payload, StandardCharsets.UTF_8));
          case "slow":
            try {
              release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return payload;
          default:
            return payload;
        }
      }

      @Override
      public void handleChannel(String fromNode, String topic, Transport.Channel channel) throws IOException {
        // Echoes every byte back, then the caller's name once the caller stops sending.
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocateDirect(32 * 1024);
        while (channel.read(buffer) >= 0) {
          buffer.flip();
          channel.write(buffer);
          buffer.clear();
        }
      }

      @Override
      public byte[] handleStream(String fromNode, String topic, InputStream body) throws IOException {
        try {
          MessageDigest sha = MessageDigest.getInstance("SHA-256");
          byte[] buffer = new byte[8192];
          long total = 0;
          int n;
          while ((n = body.read(buffer)) > 0) {
            sha.update(buffer, 0, n);
            total += n;
          }
          return (total + ":" + java.util.HexFormat.of().formatHex(sha.digest())).getBytes(StandardCharsets.UTF_8);
        } catch (java.security.NoSuchAlgorithmException e) {
          throw new IllegalStateException(e);
        }
      }
    };
  }

  private static String text(CompletableFuture<byte[]> f) throws Exception {
    return new String(f.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8);
  }

  @Test
  void aRequestIsAnsweredAndTheCallerIsNamed() throws Exception {
    assertThat(text(a.request(bPeer, "echo", "hello".getBytes(StandardCharsets.UTF_8), TIMEOUT))).isEqualTo("hello");
    assertThat(text(a.request(bPeer, "whoami", new byte[0], TIMEOUT))).isEqualTo("node-a");
    assertThat(a.localNodeId()).isEqualTo("node-a");
  }

  @Test
  void aHandlerErrorReachesTheCallerWithItsMessage() {
    assertThatThrownBy(() -> a.request(bPeer, "fail", "why".getBytes(StandardCharsets.UTF_8), TIMEOUT).get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(HiveException.class)
        .hasMessageContaining("refused: why");
  }

  @Test
  void aSlowAnswerTimesOut() {
    assertThatThrownBy(() -> a.request(bPeer, "slow", new byte[0], Duration.ofMillis(300)).get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(HiveException.class)
        .hasMessageContaining("timed out");
  }

  @Test
  void aPeerThatIsNotThereIsUnavailable() throws Exception {
    int unused;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      unused = s.getLocalPort();
    }
    assertThatThrownBy(() -> a.request(new DiscoveredPeer("ghost", host(), unused), "echo", new byte[0], TIMEOUT).get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining("ghost");
  }

  @Test
  void manyConcurrentRequestsAreEachAnsweredWithTheirOwnReply() throws Exception {
    List<CompletableFuture<byte[]>> replies = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      replies.add(a.request(bPeer, "echo", ("m" + i).getBytes(StandardCharsets.UTF_8), TIMEOUT));
    }
    for (int i = 0; i < 200; i++) {
      assertThat(text(replies.get(i))).isEqualTo("m" + i);
    }
  }

  @Test
  void aLargePayloadArrivesWhole() throws Exception {
    byte[] big = new byte[2 * 1024 * 1024];
    new Random(7).nextBytes(big);
    assertThat(a.request(bPeer, "echo", big, TIMEOUT).get(30, TimeUnit.SECONDS)).isEqualTo(big);
  }

  @Test
  void aStreamArrivesWholeAndInOrder() throws Exception {
    byte[] data = new byte[9 * 1024 * 1024 + 17];
    new Random(11).nextBytes(data);
    String expected = data.length + ":" + java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    assertThat(text(a.stream(bPeer, "sink", new ByteArrayInputStream(data), TIMEOUT))).isEqualTo(expected);
    // Requests still work beside streams.
    assertThat(text(a.request(bPeer, "echo", "after".getBytes(StandardCharsets.UTF_8), TIMEOUT))).isEqualTo("after");
  }

  @Test
  void aChannelCarriesBytesBothWaysAndNamesThePeer() throws Exception {
    Transport.Channel channel = a.openChannel(bPeer, "echo-channel", TIMEOUT).get(30, TimeUnit.SECONDS);
    try (channel) {
      assertThat(channel.peerNodeId()).isEqualTo("node-b");
      byte[] data = new byte[3 * 1024 * 1024 + 5];
      new Random(13).nextBytes(data);
      // Write from another thread: the echo comes back while we are still sending.
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          channel.write(java.nio.ByteBuffer.wrap(data));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      java.nio.ByteBuffer back = java.nio.ByteBuffer.allocate(data.length);
      while (back.hasRemaining() && channel.read(back) >= 0) {
        // Reading until all came back.
      }
      writer.get(30, TimeUnit.SECONDS);
      assertThat(back.array()).isEqualTo(data);
    }
    // Requests still work beside channels.
    assertThat(text(a.request(bPeer, "echo", "after".getBytes(StandardCharsets.UTF_8), TIMEOUT))).isEqualTo("after");
  }

  @Test
  void aClosedTransportAnswersNoMore() throws Exception {
    assertThat(text(a.request(bPeer, "echo", "x".getBytes(StandardCharsets.UTF_8), TIMEOUT))).isEqualTo("x");
    b.close();
    assertThatThrownBy(() -> a.request(bPeer, "echo", new byte[0], Duration.ofSeconds(2)).get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(HiveException.class);
  }
}
