package dev.hive.discovery.libp2p.pubsub;

import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.PeerKeys;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.WireException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A pubsub message ({@code from}, {@code data}, {@code seqno}, {@code topic}, {@code signature},
 * {@code key}) signed the StrictSign way: Ed25519 over {@code "libp2p-pubsub:"} and the canonical
 * encoding of the first four fields.
 */
public record PubsubMessage(byte[] from, byte[] data, byte[] seqno, String topic, byte[] signature, byte[] key) {
  private static final byte[] SIGNING_PREFIX = "libp2p-pubsub:".getBytes(StandardCharsets.US_ASCII);

  /** Makes and signs a message from this node. */
  public static PubsubMessage signed(PeerKeys keys, String topic, byte[] data, long seqno) {
    byte[] from = keys.peerId().bytes();
    byte[] seq = ByteBuffer.allocate(8).putLong(seqno).array();
    byte[] unsigned = new ProtoWriter().bytes(1, from).bytes(2, data).bytes(3, seq).string(4, topic).toByteArray();
    byte[] signature = keys.sign(PeerKeys.concat(SIGNING_PREFIX, unsigned));
    return new PubsubMessage(from, data, seq, topic, signature, null);
  }

  /** Returns the id gossip names it by: the sender's peer id followed by the sequence number. */
  public ByteBuffer id() {
    return ByteBuffer.wrap(PeerKeys.concat(from, seqno));
  }

  /**
   * Checks the StrictSign rules: a sender, an 8-byte sequence number and a valid signature by
   * the sender's key.
   *
   * @throws WireException saying which rule the message breaks
   */
  public void verify() throws WireException {
    if (from == null || seqno == null || signature == null || topic == null) {
      throw new WireException("message lacks from, seqno, topic or signature (StrictSign)");
    }
    if (seqno.length != 8) {
      throw new WireException("message seqno is " + seqno.length + " bytes, expected 8");
    }
    PeerId sender = PeerId.fromBytes(from);
    byte[] publicKey = key;
    if (publicKey == null) {
      publicKey = sender.inlinedPublicKey().orElseThrow(() -> new WireException("message carries no key and its sender's id does not inline one"));
    } else if (!sender.matches(publicKey)) {
      throw new WireException("message key is not its sender's");
    }
    byte[] unsigned = new ProtoWriter().bytes(1, from).bytes(2, data).bytes(3, seqno).string(4, topic).toByteArray();
    if (!PeerKeys.verify(publicKey, PeerKeys.concat(SIGNING_PREFIX, unsigned), signature)) {
      throw new WireException("message signature is invalid");
    }
  }

  public PeerId sender() throws WireException {
    return PeerId.fromBytes(from);
  }

  /** Returns the protobuf Message of the pubsub RPC. */
  public ProtoWriter encode() {
    return new ProtoWriter().bytes(1, from).bytes(2, data).bytes(3, seqno).string(4, topic).bytes(5, signature).bytes(6, key);
  }

  /**
   * Reads a protobuf Message of the pubsub RPC; it is not verified ({@link #verify()} does that).
   *
   * @throws WireException if it is not a protobuf message
   */
  public static PubsubMessage decode(ProtoReader r) throws WireException {
    byte[] from = null;
    byte[] data = null;
    byte[] seqno = null;
    String topic = null;
    byte[] signature = null;
    byte[] key = null;
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> from = r.bytes();
        case 2 -> data = r.bytes();
        case 3 -> seqno = r.bytes();
        case 4 -> topic = r.string();
        case 5 -> signature = r.bytes();
        case 6 -> key = r.bytes();
        default -> r.skip();
      }
    }
    return new PubsubMessage(from, data, seqno, topic, signature, key);
  }
}
