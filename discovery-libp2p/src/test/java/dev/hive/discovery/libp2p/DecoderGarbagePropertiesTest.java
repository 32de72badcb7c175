package dev.hive.discovery.libp2p;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.discovery.libp2p.kad.KadMessage;
import dev.hive.discovery.libp2p.pubsub.PubsubMessage;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.Multistream;
import dev.hive.discovery.libp2p.wire.Noise;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.Varint;
import dev.hive.discovery.libp2p.wire.WireException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Every decoder that reads what a peer sends, fed garbage (jqwik): random bytes, and valid
 * messages with bytes flipped, cut or inserted. Each either decodes or refuses with an
 * {@link IOException} (a {@link WireException} saying what is wrong, or an end of stream) -- never
 * a JDK exception escaping, a hang, or an allocation sized by the peer. The connection-level
 * consequences (the connection or stream closed, the host still serving) are in
 * {@code MisbehavingPeerTest}.
 */
class DecoderGarbagePropertiesTest {
  private static final PeerKeys KEYS = PeerKeys.generate();
  private static final PeerKeys OTHER = PeerKeys.generate();

  @FunctionalInterface
  private interface Decoding {
    void run() throws IOException;
  }

  /** Runs a decoder over {@code input}; an IOException is a refusal, anything else a bug. */
  private static void decodesOrRefuses(byte[] input, Decoding decoding) {
    try {
      decoding.run();
    } catch (IOException refused) {
      assertThat(refused.getMessage()).as("a refusal says why").isNotBlank();
    } catch (RuntimeException | Error bug) {
      throw new AssertionError("input " + HexFormat.of().formatHex(input) + " escaped the decoder as " + bug, bug);
    }
  }

  private static void walk(ProtoReader r) throws WireException {
    for (int f; (f = r.next()) > 0; ) {
      r.skip();
    }
  }

  @Property(tries = 2000)
  void anyBytesAreAProtobufMessageOrRefused(@ForAll @Size(max = 300) byte[] garbage) {
    decodesOrRefuses(garbage, () -> walk(new ProtoReader(garbage)));
    decodesOrRefuses(garbage, () -> KadMessage.decode(garbage));
    decodesOrRefuses(garbage, () -> Libp2pTransport.Hello.decode(garbage));
    decodesOrRefuses(garbage, () -> PubsubMessage.decode(new ProtoReader(garbage)).verify());
  }

  @Property(tries = 2000)
  void anyBytesAreAnAddressAPeerIdOrRefused(@ForAll @Size(max = 120) byte[] garbage) {
    decodesOrRefuses(garbage, () -> Multiaddr.fromBytes(garbage).toString());
    decodesOrRefuses(garbage, () -> PeerId.fromBytes(garbage).toString());
    decodesOrRefuses(garbage, () -> PeerKeys.verify(garbage, garbage, garbage));
  }

  @Property(tries = 2000)
  void anyBytesAreAMultistreamNegotiationOrRefused(@ForAll @Size(max = 300) byte[] garbage) {
    decodesOrRefuses(garbage, () -> Multistream.readLine(new ByteArrayInputStream(garbage)));
    decodesOrRefuses(garbage, () -> Multistream.handle(new ByteArrayInputStream(garbage), new ByteArrayOutputStream(), p -> true));
    decodesOrRefuses(garbage, () -> Multistream.select(new ByteArrayInputStream(garbage), new ByteArrayOutputStream(), List.of("/x/1.0.0")));
  }

  /** A DHT message with every kind of field, to mutate. */
  private static byte[] validKadMessage() {
    ProtoWriter peer = new ProtoWriter().bytes(1, OTHER.peerId().bytes()).bytes(2, Multiaddr.parse("/ip4/10.0.0.7/tcp/4001").bytes()).uint(3, 1);
    ProtoWriter record = new ProtoWriter().bytes(1, "/hive/k".getBytes()).bytes(2, "value".getBytes()).string(5, "2026-11-24T00:00:00Z");
    return new ProtoWriter().uint(1, KadMessage.GET_VALUE).bytes(2, "/hive/k".getBytes()).message(3, record).message(8, peer)
        .message(9, peer).toByteArray();
  }

  private static byte[] mutate(byte[] valid, long seed, int edits) {
    Random r = new Random(seed);
    byte[] out = valid.clone();
    for (int i = 0; i < edits; i++) {
      switch (r.nextInt(3)) {
        case 0 -> out[r.nextInt(out.length)] ^= (byte) (1 << r.nextInt(8));
        case 1 -> out = java.util.Arrays.copyOf(out, r.nextInt(out.length));
        default -> {
          int at = r.nextInt(out.length + 1);
          byte[] longer = new byte[out.length + 1];
          System.arraycopy(out, 0, longer, 0, at);
          longer[at] = (byte) r.nextInt(256);
          System.arraycopy(out, at, longer, at + 1, out.length - at);
          out = longer;
        }
      }
      if (out.length == 0) {
        break;
      }
    }
    return out;
  }

  @Property(tries = 2000)
  void mutatedMessagesDecodeOrAreRefused(@ForAll long seed, @ForAll @IntRange(min = 1, max = 4) int edits) {
    byte[] kad = mutate(validKadMessage(), seed, edits);
    decodesOrRefuses(kad, () -> KadMessage.decode(kad));
    byte[] pubsub = mutate(PubsubMessage.signed(KEYS, "hive", "news".getBytes(), seed).encode().toByteArray(), seed, edits);
    decodesOrRefuses(pubsub, () -> PubsubMessage.decode(new ProtoReader(pubsub)).verify());
    byte[] addr = mutate(Multiaddr.parse("/ip4/127.0.0.1/tcp/4001/p2p/" + KEYS.peerId()).bytes(), seed, edits);
    decodesOrRefuses(addr, () -> Multiaddr.fromBytes(addr));
  }

  @Property(tries = 1000)
  void aSignedGossipMessageWithAnyBitFlippedFailsVerification(@ForAll long seed) {
    byte[] valid = PubsubMessage.signed(KEYS, "hive", "news".getBytes(), 7).encode().toByteArray();
    byte[] flipped = valid.clone();
    Random r = new Random(seed);
    flipped[r.nextInt(flipped.length)] ^= (byte) (1 << r.nextInt(8));
    // Either it no longer parses, or its signature no longer holds: never accepted.
    assertThatThrownBy(() -> PubsubMessage.decode(new ProtoReader(flipped)).verify()).isInstanceOf(WireException.class);
  }

  private static byte[] framed(byte[]... messages) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] m : messages) {
      out.write(m.length >>> 8);
      out.write(m.length);
      out.writeBytes(m);
    }
    return out.toByteArray();
  }

  @Property(tries = 300)
  void aNoiseListenerRefusesGarbageHandshakes(@ForAll @Size(max = 200) byte[] first, @ForAll @Size(max = 200) byte[] third) {
    byte[] input = framed(first, third);
    assertThatThrownBy(() -> Noise.respond(new ByteArrayInputStream(input), new ByteArrayOutputStream(), KEYS, List.of("/yamux/1.0.0")))
        .isInstanceOf(IOException.class);
  }

  @Property(tries = 300)
  void aNoiseDialerRefusesGarbageAnswers(@ForAll @Size(max = 300) byte[] second) {
    byte[] input = framed(second);
    assertThatThrownBy(() -> Noise.initiate(new ByteArrayInputStream(input), new ByteArrayOutputStream(), KEYS, List.of(), null))
        .isInstanceOf(IOException.class);
  }

  @Test
  void aNoiseEphemeralKeyOfSmallOrderIsRefused() {
    // All zeros is a point of small order: the agreement would be all zeros, a key anyone knows.
    byte[] input = framed(new byte[32]);
    assertThatThrownBy(() -> Noise.respond(new ByteArrayInputStream(input), new ByteArrayOutputStream(), KEYS, List.of("/yamux/1.0.0")))
        .isInstanceOf(WireException.class).hasMessageContaining("small order");
  }

  @Test
  void oversizedLengthsAreRefusedBeforeAnythingIsAllocated() {
    // 2^62 bytes announced: refused on the length alone.
    byte[] huge = Varint.encode(1L << 62);
    assertThatThrownBy(() -> Varint.readPrefixed(new ByteArrayInputStream(huge), 1 << 20)).isInstanceOf(WireException.class)
        .hasMessageContaining("over");
    assertThatThrownBy(() -> Multistream.readLine(new ByteArrayInputStream(huge))).isInstanceOf(WireException.class);
    byte[] field = new ProtoWriter().uint(1, 1).toByteArray();
    byte[] lying = PeerKeys.concat(field, new byte[] {0x12}, Varint.encode(Integer.MAX_VALUE));
    assertThatThrownBy(() -> KadMessage.decode(lying)).isInstanceOf(WireException.class).hasMessageContaining("runs past the end");
    byte[] tenBytes = PeerKeys.concat(new byte[] {0x08}, new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1});
    assertThatThrownBy(() -> walk(new ProtoReader(tenBytes))).isInstanceOf(WireException.class).hasMessageContaining("varint");
  }
}
