package dev.hive.discovery.libp2p;

import static dev.hive.discovery.libp2p.DecoderOracle.decodesOrRefuses;
import static dev.hive.discovery.libp2p.DecoderOracle.noiseFramed;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.discovery.libp2p.kad.KadMessage;
import dev.hive.discovery.libp2p.pubsub.PubsubMessage;
import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.Multistream;
import dev.hive.discovery.libp2p.wire.Noise;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.Varint;
import dev.hive.discovery.libp2p.wire.WireException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Valid messages with bytes flipped, cut or inserted, over a fixed set of seeds so that every run
 * checks the same cases. Each either decodes or refuses with an {@link IOException} (a
 * {@link WireException} saying what is wrong, or an end of stream) -- never a JDK exception
 * escaping, a hang, or an allocation sized by the peer -- and a signed message with any bit
 * flipped is never accepted. Arbitrary bytes are the fuzz targets' ({@code Libp2pMessagesFuzzTest},
 * {@code WireFuzzTest}); the connection-level consequences (the connection or stream closed, the
 * host still serving) are in {@code MisbehavingPeerTest}.
 */
class DecoderGarbagePropertiesTest {
  private static final PeerKeys KEYS = PeerKeys.generate();
  private static final PeerKeys OTHER = PeerKeys.generate();

  private static void walk(ProtoReader r) throws WireException {
    for (int f; (f = r.next()) > 0; ) {
      r.skip();
    }
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

  @Test
  void mutatedMessagesDecodeOrAreRefused() {
    Random inputs = new Random(0x6a7ba6eL);
    for (int attempt = 0; attempt < 2000; attempt++) {
      // One to four edits: the bounds first, then any.
      int edits = attempt == 0 ? 1 : attempt == 1 ? 4 : 1 + inputs.nextInt(4);
      mutatedMessagesDecodeOrAreRefused(inputs.nextLong(), edits);
    }
  }

  private static void mutatedMessagesDecodeOrAreRefused(long seed, int edits) {
    byte[] kad = mutate(validKadMessage(), seed, edits);
    decodesOrRefuses(kad, () -> KadMessage.decode(kad));
    byte[] pubsub = mutate(PubsubMessage.signed(KEYS, "hive", "news".getBytes(), seed).encode().toByteArray(), seed, edits);
    decodesOrRefuses(pubsub, () -> PubsubMessage.decode(new ProtoReader(pubsub)).verify());
    byte[] addr = mutate(Multiaddr.parse("/ip4/127.0.0.1/tcp/4001/p2p/" + KEYS.peerId()).bytes(), seed, edits);
    decodesOrRefuses(addr, () -> Multiaddr.fromBytes(addr));
  }

  @Test
  void aSignedGossipMessageWithAnyBitFlippedFailsVerification() {
    byte[] valid = PubsubMessage.signed(KEYS, "hive", "news".getBytes(), 7).encode().toByteArray();
    Random seeds = new Random(0xf11bL);
    for (int attempt = 0; attempt < 1000; attempt++) {
      long seed = seeds.nextLong();
      byte[] flipped = valid.clone();
      Random r = new Random(seed);
      flipped[r.nextInt(flipped.length)] ^= (byte) (1 << r.nextInt(8));
      // Either it no longer parses, or its signature no longer holds: never accepted.
      assertThatThrownBy(() -> PubsubMessage.decode(new ProtoReader(flipped)).verify()).as("seed %d", seed).isInstanceOf(WireException.class);
    }
  }

  @Test
  void aNoiseEphemeralKeyOfSmallOrderIsRefused() {
    // All zeros is a point of small order: the agreement would be all zeros, a key anyone knows.
    byte[] input = noiseFramed(new byte[32]);
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
