package dev.hive.discovery.libp2p.wire;

import static dev.hive.discovery.libp2p.DecoderOracle.decodedOrNull;
import static dev.hive.discovery.libp2p.DecoderOracle.decodesOrRefuses;
import static dev.hive.discovery.libp2p.DecoderOracle.noiseFramed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * The wire layers under every libp2p connection, fed what the fuzzer makes: addresses and peer
 * ids, multistream negotiation, Noise handshakes and yamux frames. Each decodes or refuses with an
 * {@link IOException} -- never a JDK exception escaping, a hang, or an allocation sized by the peer
 * (see {@code DecoderOracle}). An address or peer id that decodes comes back the same from its
 * bytes and from its text.
 */
class WireFuzzTest {
  private static final PeerKeys KEYS = PeerKeys.generate();

  @FuzzTest
  void addressesAndPeerIds(byte[] bytes) throws WireException {
    decodesOrRefuses(bytes, () -> Multiaddr.fromBytes(bytes).toString());
    decodesOrRefuses(bytes, () -> PeerId.fromBytes(bytes).toString());
    decodesOrRefuses(bytes, () -> PeerKeys.verify(bytes, bytes, bytes));
    // What decodes comes back the same from its bytes and its text: outside the refusals, as an
    // address this node advertises that its peers cannot read back is a finding.
    Multiaddr address = decodedOrNull(() -> Multiaddr.fromBytes(bytes));
    if (address != null) {
      assertThat(Multiaddr.fromBytes(address.bytes())).as("an address re-encoded").isEqualTo(address);
      assertThat(Multiaddr.parse(address.toString())).as("an address read back from its text").isEqualTo(address);
    }
    PeerId id = decodedOrNull(() -> PeerId.fromBytes(bytes));
    if (id != null) {
      assertThat(PeerId.fromBytes(id.bytes())).as("a peer id re-encoded").isEqualTo(id);
      assertThat(PeerId.parse(id.toString())).as("a peer id read back from its text").isEqualTo(id);
    }
  }

  @FuzzTest
  void multistreamNegotiation(byte[] bytes) {
    decodesOrRefuses(bytes, () -> Multistream.readLine(new ByteArrayInputStream(bytes)));
    decodesOrRefuses(bytes, () -> Multistream.handle(new ByteArrayInputStream(bytes), new ByteArrayOutputStream(), p -> true));
    decodesOrRefuses(bytes, () -> Multistream.select(new ByteArrayInputStream(bytes), new ByteArrayOutputStream(), List.of("/x/1.0.0")));
  }

  /**
   * A listener answering a dialer whose first and third handshake messages are the fuzzer's: without
   * the dialer's keys nothing it makes can complete the handshake, so every input is refused.
   */
  @FuzzTest
  void noiseListenerHandshake(byte[] bytes) {
    int cut = bytes.length == 0 ? 0 : (bytes[0] & 0xff) % bytes.length;
    byte[] input = noiseFramed(Arrays.copyOfRange(bytes, 0, cut), Arrays.copyOfRange(bytes, cut, bytes.length));
    assertThatThrownBy(() -> Noise.respond(new ByteArrayInputStream(input), new ByteArrayOutputStream(), KEYS, List.of("/yamux/1.0.0")))
        .isInstanceOf(IOException.class);
  }

  /** A dialer reading the fuzzer's second handshake message: refused, as a listener's without keys. */
  @FuzzTest
  void noiseDialerHandshake(byte[] second) {
    byte[] input = noiseFramed(second);
    assertThatThrownBy(() -> Noise.initiate(new ByteArrayInputStream(input), new ByteArrayOutputStream(), KEYS, List.of(), null))
        .isInstanceOf(IOException.class);
  }

  /** Yamux frames from a peer: the session ends cleanly or with an IOException, never a JDK exception. */
  @FuzzTest
  void yamuxFrames(byte[] frames) {
    Yamux yamux = new Yamux(new ByteArrayInputStream(frames), new ByteArrayOutputStream(), true, Runnable::run, stream -> { });
    yamux.run();
    assertThat(yamux.closedFuture()).isDone();
    assertThat(yamux.endedBy()).as("what ended the connection").satisfiesAnyOf(
        e -> assertThat(e).isNull(), e -> assertThat(e).isInstanceOf(IOException.class));
  }
}
