package dev.hive.discovery.libp2p.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.hive.discovery.libp2p.host.Connection;
import dev.hive.discovery.libp2p.host.Host;
import dev.hive.discovery.libp2p.pubsub.Gossipsub;
import dev.hive.discovery.libp2p.pubsub.PubsubMessage;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Peers that misbehave on real sockets against a real {@link Host}: garbage at every layer
 * (before multistream, inside Noise, as yamux frames, on one stream) ends that socket or that
 * stream and nothing else -- a bystander's connection keeps working and new peers still connect;
 * a peer whose Noise signature does not match its key is refused, as is a gossip message whose
 * signature does not hold.
 */
class MisbehavingPeerTest {
  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final List<String> MUXERS = List.of(Yamux.PROTOCOL_ID);
  private Host target;
  private Host bystander;
  private int port;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    target = new Host(PeerKeys.generate(), "hive-test/target");
    port = target.listen("127.0.0.1", 0);
    bystander = host("bystander");
    bystander.dial(target.peerId(), List.of(targetAddress()), PATIENCE);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    bystander.close();
    target.close();
  }

  private Host host(String name) {
    Host h = new Host(PeerKeys.generate(), "hive-test/" + name);
    closeables.add(h);
    return h;
  }

  private Multiaddr targetAddress() {
    return Multiaddr.tcp("127.0.0.1", port);
  }

  /** The bystander's connection, opened before the misbehaviour, still works; and a new peer still gets in. */
  private void assertTargetStillServes() throws IOException {
    Connection before = bystander.connection(target.peerId()).orElseThrow();
    assertThat(bystander.ping(target.peerId(), PATIENCE)).isNotNegative();
    assertThat(bystander.connection(target.peerId())).contains(before);
    Host newcomer = host("newcomer");
    newcomer.dial(target.peerId(), List.of(targetAddress()), PATIENCE);
    assertThat(newcomer.ping(target.peerId(), PATIENCE)).isNotNegative();
  }

  private Socket raw() throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout((int) PATIENCE.toMillis());
    closeables.add(s);
    return s;
  }

  /** Waits until the other side closes: reads see the end (or a reset) before PATIENCE passes. */
  private static void assertClosedByPeer(InputStream in) {
    assertThatThrownBy(() -> {
      while (in.read() >= 0) {
        // Drain what was sent before the close.
      }
      throw new IOException("ended");
    }).isInstanceOf(IOException.class).isNotInstanceOf(java.net.SocketTimeoutException.class);
  }

  /**
   * Sends the parts and half-closes. The target may close on the first bad part, before the rest
   * is written: a write then fails with a broken pipe or a reset, which is the outcome wanted.
   */
  private static void sendAndHalfClose(Socket socket, byte[]... parts) throws IOException {
    try {
      for (byte[] part : parts) {
        socket.getOutputStream().write(part);
      }
      socket.getOutputStream().flush();
      // Garbage that announces more than it sends would otherwise wait out the handshake timeout.
      socket.shutdownOutput();
    } catch (SocketException closedAlready) {
      assertThat(socket.isClosed()).as("only the target closed the connection").isFalse();
    }
  }

  @Test
  void garbageBeforeOrInsteadOfMultistreamClosesThatSocketOnly() throws Exception {
    Random inputs = new Random(0x9a4ba9eL);
    for (int attempt = 0; attempt < 15; attempt++) {
      // Each try meets a fresh target, as the first one does (started before the test).
      if (attempt > 0) {
        stop();
        closeables.clear();
        start();
      }
      // One to 400 bytes: the bounds first, then any.
      int size = attempt == 0 ? 1 : attempt == 1 ? 400 : 1 + inputs.nextInt(400);
      byte[] garbage = new byte[size];
      inputs.nextBytes(garbage);
      Socket s = raw();
      sendAndHalfClose(s, garbage);
      assertClosedByPeer(s.getInputStream());
      assertTargetStillServes();
    }
  }

  @Test
  void malformedMultistreamLinesCloseThatSocketOnly() throws Exception {
    byte[] header = Multistream.line(Multistream.PROTOCOL_ID);
    List<byte[]> cases = List.of(
        PeerKeys.concat(Varint.encode(5), "/nois".getBytes(StandardCharsets.US_ASCII)), // no newline
        PeerKeys.concat(Varint.encode(1L << 40)), // a line of a terabyte
        Multistream.line("/not-multistream/1.0.0"), // another header
        PeerKeys.concat(header, Varint.encode(3), new byte[] {(byte) 0xC3, 0x28, '\n'})); // not UTF-8
    for (byte[] bad : cases) {
      Socket s = raw();
      sendAndHalfClose(s, bad);
      assertClosedByPeer(s.getInputStream());
    }
    // Proposing protocol after protocol: refused after 32.
    Socket s = raw();
    ByteArrayOutputStream spam = new ByteArrayOutputStream();
    spam.writeBytes(header);
    for (int i = 0; i < 40; i++) {
      spam.writeBytes(Multistream.line("/nope/" + i));
    }
    s.getOutputStream().write(spam.toByteArray());
    assertClosedByPeer(s.getInputStream());
    assertTargetStillServes();
  }

  /** Negotiates Noise on a raw socket, as any dialer does, and returns the socket's streams. */
  private static InputStream noiseNegotiated(Socket s) throws IOException {
    InputStream in = new BufferedInputStream(s.getInputStream());
    Multistream.select(in, s.getOutputStream(), List.of(Noise.PROTOCOL_ID));
    return in;
  }

  @Test
  void garbageNoiseMessagesCloseThatSocketOnly() throws Exception {
    Random random = new Random(42);
    for (int length : new int[] {0, 31, 32, 200, 65535}) {
      Socket s = raw();
      InputStream in = noiseNegotiated(s);
      byte[] message = new byte[length];
      random.nextBytes(message);
      // The garbage as the responder's first message, then a third message that cannot authenticate.
      sendAndHalfClose(s, new byte[] {(byte) (length >>> 8), (byte) length}, message, new byte[] {0, 64}, new byte[64]);
      assertClosedByPeer(in);
    }
    assertTargetStillServes();
  }

  /** Completes Noise with a real identity on a raw socket: what comes next is up to the test. */
  private Noise.Session secured(Socket s) throws IOException {
    InputStream in = noiseNegotiated(s);
    Noise.Session session = Noise.initiate(in, s.getOutputStream(), PeerKeys.generate(), MUXERS, target.peerId());
    assertThat(session.remoteMuxers()).contains(Yamux.PROTOCOL_ID);
    return session;
  }

  @Test
  void garbageYamuxFramesCloseThatConnectionOnly() throws Exception {
    List<byte[]> frames = List.of(
        new byte[] {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, // yamux version 1
        new byte[] {0, 9, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, // frame type 9
        new byte[] {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0}, // SYN on an id the listener owns (even)
        new byte[] {0, 0, 0, 1, 0, 0, 0, 1, 0x7F, -1, -1, -1}, // data far beyond the stream's window
        new byte[] {0, 0, 0, 0, 0, 0, 0, 9, 0x10, 0, 0, 0}); // 256 MiB of data for no stream
    for (byte[] frame : frames) {
      Socket s = raw();
      Noise.Session session = secured(s);
      session.out().write(frame);
      session.out().flush();
      assertClosedByPeer(session.in());
    }
    assertTargetStillServes();
  }

  @Test
  void garbageOnOneStreamResetsThatStreamAndKeepsTheConnection() throws Exception {
    Connection connection = bystander.connection(target.peerId()).orElseThrow();
    // An identify push whose length says a gigabyte.
    Yamux.Stream push = connection.newStream(List.of(Host.IDENTIFY_PUSH)).stream();
    push.out().write(Varint.encode(1L << 30));
    push.out().flush();
    assertClosedByPeer(push.in());
    // A protocol the target does not speak: refused on that stream.
    assertThatThrownBy(() -> connection.newStream(List.of("/hive/not-spoken/1.0.0"))).isInstanceOf(Multistream.NotSupportedException.class);
    // A ping stream cut short inside its payload ends.
    Yamux.Stream ping = connection.newStream(List.of(Host.PING)).stream();
    ping.out().write(new byte[5]);
    ping.closeWrite();
    assertClosedByPeer(ping.in());
    assertThat(connection.isOpen()).isTrue();
    assertTargetStillServes();
  }

  /** A host claiming {@code victim}'s peer id, whose Noise payload is signed by another key. */
  private Host impostorOf(Host victim) {
    Host impostor = new Host(PeerKeys.impersonating(victim.keys(), PeerKeys.generate()), "hive-test/impostor");
    closeables.add(impostor);
    return impostor;
  }

  @Test
  void aDialerWhoseNoiseSignatureIsNotItsKeysIsRefused() throws Exception {
    Host victim = host("victim");
    Host impostor = impostorOf(victim);
    assertThat(impostor.peerId()).isEqualTo(victim.peerId());
    // The dialer's handshake ends before the listener has checked message 3; the listener then drops it.
    try {
      Connection c = impostor.dial(target.peerId(), List.of(targetAddress()), PATIENCE);
      await().atMost(PATIENCE).until(() -> !c.isOpen());
    } catch (IOException refused) {
      // Refused before the dial returned: as good.
    }
    assertThat(target.connection(victim.peerId())).isEmpty();
    assertTargetStillServes();
  }

  @Test
  void aListenerWhoseNoiseSignatureIsNotItsKeysIsRefused() throws Exception {
    Host victim = host("victim");
    Host impostor = impostorOf(victim);
    int impostorPort = impostor.listen("127.0.0.1", 0);
    assertThatThrownBy(() -> bystander.dial(victim.peerId(), List.of(Multiaddr.tcp("127.0.0.1", impostorPort)), PATIENCE))
        .isInstanceOf(IOException.class).hasMessageContaining("signature over its Noise static key is invalid");
    assertThat(bystander.connection(victim.peerId())).isEmpty();
  }

  @Test
  void gossipWithAnInvalidSignatureIsNotDeliveredAndCostsTheSenderScore() throws Exception {
    // Sent in order: a forgery of message 1 (its id, other data), message 2 signed by another key
    // under the sender's name, the real message 1, the real message 1 again, message 3. The
    // forgery must not shadow the real message 1 (only verified copies are marked seen), and the
    // duplicate is not delivered twice.
    Gossipsub gossip = new Gossipsub(target, Duration.ofSeconds(1));
    closeables.add(gossip);
    List<String> delivered = new CopyOnWriteArrayList<>();
    gossip.subscribe("hive", (topic, data, sender) -> delivered.add(new String(data, StandardCharsets.UTF_8)));
    Connection connection = bystander.connection(target.peerId()).orElseThrow();
    Yamux.Stream stream = connection.newStream(List.of(Gossipsub.MESHSUB_1_1)).stream();
    PeerKeys keys = bystander.keys();

    PubsubMessage signed = PubsubMessage.signed(keys, "hive", "first".getBytes(StandardCharsets.UTF_8), 1);
    PubsubMessage tampered = new PubsubMessage(signed.from(), "forged".getBytes(StandardCharsets.UTF_8), signed.seqno(), signed.topic(),
        signed.signature(), null);
    PeerKeys other = PeerKeys.generate();
    PubsubMessage byAnother = PubsubMessage.signed(other, "hive", "impostor".getBytes(StandardCharsets.UTF_8), 2);
    PubsubMessage claimed = new PubsubMessage(keys.peerId().bytes(), byAnother.data(), byAnother.seqno(), "hive", byAnother.signature(),
        other.encodedPublicKey());
    PubsubMessage valid = PubsubMessage.signed(keys, "hive", "genuine".getBytes(StandardCharsets.UTF_8), 3);
    ProtoWriter subscribe = new ProtoWriter().uint(1, 1).string(2, "hive");
    for (PubsubMessage m : List.of(tampered, claimed, signed, signed, valid)) {
      Varint.writePrefixed(stream.out(), new ProtoWriter().message(1, subscribe).message(2, m.encode()).toByteArray());
    }
    // One stream is read in order: once the last message is in, those before it were judged.
    await().atMost(PATIENCE).until(() -> delivered.contains("genuine"));
    assertThat(delivered).containsExactly("first", "genuine");
    assertThat(gossip.score(bystander.peerId())).isNegative();
  }

  @Test
  void yamuxSurvivesRandomFrames() {
    Random seeds = new Random(0x3a30fL);
    for (int attempt = 0; attempt < 200; attempt++) {
      yamuxSurvivesRandomFrames(seeds.nextLong());
    }
  }

  private static void yamuxSurvivesRandomFrames(long seed) {
    Random r = new Random(seed);
    ByteArrayOutputStream frames = new ByteArrayOutputStream();
    for (int i = 0, n = 1 + r.nextInt(20); i < n; i++) {
      int length = r.nextInt(4) == 0 ? r.nextInt() : r.nextInt(2000);
      frames.writeBytes(new byte[] {(byte) (r.nextInt(10) == 0 ? 1 : 0), (byte) r.nextInt(5), 0, (byte) r.nextInt(16)});
      int id = r.nextInt(8);
      frames.writeBytes(new byte[] {0, 0, 0, (byte) id, (byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length});
      byte[] payload = new byte[r.nextInt(2000)];
      r.nextBytes(payload);
      frames.writeBytes(payload);
    }
    Yamux yamux = new Yamux(new java.io.ByteArrayInputStream(frames.toByteArray()), new ByteArrayOutputStream(), true, Runnable::run,
        stream -> { });
    yamux.run();
    assertThat(yamux.closedFuture()).isDone();
    assertThat(yamux.endedBy()).as("what ended the connection, seed %d", seed).satisfiesAnyOf(
        e -> assertThat(e).isNull(), e -> assertThat(e).isInstanceOf(IOException.class));
  }
}
