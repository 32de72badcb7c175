package dev.hive.discovery.libp2p;

import static dev.hive.discovery.libp2p.DecoderOracle.decodedOrNull;
import static dev.hive.discovery.libp2p.DecoderOracle.decodesOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hive.discovery.libp2p.kad.KadMessage;
import dev.hive.discovery.libp2p.pubsub.PubsubMessage;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.WireException;

/**
 * The protobuf messages a peer sends -- DHT messages, gossip messages and the hive rpc hello -- fed
 * what the fuzzer makes. Each decodes or refuses with an {@link java.io.IOException}, never a JDK
 * exception escaping (see {@link DecoderOracle}); what decodes encodes back to the same bytes on a
 * second round. Mutations of valid messages are in {@code DecoderGarbagePropertiesTest}, the
 * consequences on a live connection in {@code MisbehavingPeerTest}.
 */
class Libp2pMessagesFuzzTest {
  private static void walk(ProtoReader r) throws WireException {
    for (int f; (f = r.next()) > 0; ) {
      r.skip();
    }
  }

  @FuzzTest
  void protobufMessages(byte[] message) throws WireException {
    decodesOrRefuses(message, () -> walk(new ProtoReader(message)));
    decodesOrRefuses(message, () -> Libp2pTransport.Hello.decode(message));
    decodesOrRefuses(message, () -> KadMessage.decode(message).encode());
    decodesOrRefuses(message, () -> PubsubMessage.decode(new ProtoReader(message)).verify());
    // What decodes re-encodes to bytes that decode and re-encode the same: outside the refusals,
    // as a relayed message that no longer decodes is a finding.
    KadMessage kad = decodedOrNull(() -> KadMessage.decode(message));
    if (kad != null) {
      byte[] once = kad.encode();
      assertThat(KadMessage.decode(once).encode()).as("a DHT message re-encoded").isEqualTo(once);
    }
    PubsubMessage gossip = decodedOrNull(() -> PubsubMessage.decode(new ProtoReader(message)));
    if (gossip != null) {
      byte[] once = gossip.encode().toByteArray();
      assertThat(PubsubMessage.decode(new ProtoReader(once)).encode().toByteArray()).as("a gossip message re-encoded").isEqualTo(once);
    }
  }

}
