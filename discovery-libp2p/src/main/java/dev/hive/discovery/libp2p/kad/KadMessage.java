package dev.hive.discovery.libp2p.kad;

import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.PeerId;
import dev.hive.discovery.libp2p.wire.ProtoReader;
import dev.hive.discovery.libp2p.wire.ProtoWriter;
import dev.hive.discovery.libp2p.wire.WireException;
import java.util.ArrayList;
import java.util.List;

/**
 * The DHT's protobuf {@code Message}: type, key, record, closer peers and provider peers (field
 * numbers of go-libp2p-kad-dht's dht.proto). Peers whose id does not decode are dropped; their
 * addresses that do not decode are skipped.
 */
public record KadMessage(int type, byte[] key, Record record, List<Peer> closerPeers, List<Peer> providerPeers) {
  public static final int PUT_VALUE = 0;
  public static final int GET_VALUE = 1;
  public static final int ADD_PROVIDER = 2;
  public static final int GET_PROVIDERS = 3;
  public static final int FIND_NODE = 4;
  public static final int PING = 5;

  /** A peer and where it listens; connection 1 = connected. */
  public record Peer(PeerId id, List<Multiaddr> addrs, int connection) {}

  /** A stored value and when it was received (RFC 3339 text). */
  public record Record(byte[] key, byte[] value, String timeReceived) {}

  public KadMessage {
    closerPeers = List.copyOf(closerPeers);
    providerPeers = List.copyOf(providerPeers);
  }

  public static KadMessage request(int type, byte[] key) {
    return new KadMessage(type, key, null, List.of(), List.of());
  }

  public byte[] encode() {
    ProtoWriter w = new ProtoWriter();
    if (type != 0) {
      w.uint(1, type);
    }
    w.bytes(2, key);
    if (record != null) {
      w.message(3, new ProtoWriter().bytes(1, record.key()).bytes(2, record.value()).string(5, record.timeReceived()));
    }
    closerPeers.forEach(p -> w.message(8, peer(p)));
    providerPeers.forEach(p -> w.message(9, peer(p)));
    return w.toByteArray();
  }

  private static ProtoWriter peer(Peer p) {
    ProtoWriter w = new ProtoWriter().bytes(1, p.id().bytes());
    p.addrs().forEach(a -> w.bytes(2, a.bytes()));
    if (p.connection() != 0) {
      w.uint(3, p.connection());
    }
    return w;
  }

  /**
   * Decodes a message.
   *
   * @throws WireException if it is not a DHT message
   */
  public static KadMessage decode(byte[] data) throws WireException {
    ProtoReader r = new ProtoReader(data);
    int type = 0;
    byte[] key = null;
    Record record = null;
    List<Peer> closer = new ArrayList<>();
    List<Peer> providers = new ArrayList<>();
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> type = (int) r.uint();
        case 2 -> key = r.bytes();
        case 3 -> record = record(r.message());
        case 8 -> addPeer(r.message(), closer);
        case 9 -> addPeer(r.message(), providers);
        default -> r.skip();
      }
    }
    if (type < PUT_VALUE || type > PING) {
      throw new WireException("DHT message type " + type + " is unknown");
    }
    return new KadMessage(type, key, record, closer, providers);
  }

  private static Record record(ProtoReader r) throws WireException {
    byte[] key = null;
    byte[] value = null;
    String time = null;
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> key = r.bytes();
        case 2 -> value = r.bytes();
        case 5 -> time = r.string();
        default -> r.skip();
      }
    }
    return new Record(key, value, time);
  }

  private static void addPeer(ProtoReader r, List<Peer> into) throws WireException {
    PeerId id = null;
    List<Multiaddr> addrs = new ArrayList<>();
    int connection = 0;
    for (int f; (f = r.next()) > 0; ) {
      switch (f) {
        case 1 -> {
          try {
            id = PeerId.fromBytes(r.bytes());
          } catch (WireException e) {
            id = null;
          }
        }
        case 2 -> {
          byte[] raw = r.bytes();
          try {
            if (addrs.size() < 16) {
              addrs.add(Multiaddr.fromBytes(raw).withoutPeerId());
            }
          } catch (WireException e) {
            // An address of a transport this node does not speak.
          }
        }
        case 3 -> connection = (int) r.uint();
        default -> r.skip();
      }
    }
    if (id != null && into.size() < 64) {
      into.add(new Peer(id, addrs, connection));
    }
  }
}
