package dev.hive.core.follow;

import dev.hive.api.HiveException;
import dev.hive.spi.DiscoveredPeer;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The messages between a client and the server it follows, in a small binary form (one
 * version byte first). Every decoder checks what it reads and names what is wrong: a message
 * comes from the network.
 */
final class FollowWire {
  /** 2: updates carry their hops from a server and may redirect a subscription to relays. */
  static final byte VERSION = 2;
  /** The most bytes a change's commands or a snapshot may take: past it, the message is refused, not allocated. */
  static final int MAX_BLOB = 64 << 20;
  /** The most changes in one update: a server sends fewer, a message with more is malformed. */
  static final int MAX_CHANGES = 100_000;
  /** The most relays one redirect names. */
  static final int MAX_REDIRECTS = 16;
  /** The most relays between a server and a client: past it, an update is malformed, and a client deeper than that leaves its relay. */
  static final int MAX_HOPS = 16;
  private static final int CHANGES = 0;
  private static final int SNAPSHOT = 1;
  private static final int REDIRECT = 2;

  private FollowWire() {}

  /** The commands applied at one log index, encoded as the state codec encodes requests. */
  record Change(long index, byte[] commands) {}

  /**
   * What a client receives: the changes after {@code after} up to {@code index}, or a snapshot
   * standing at {@code index} (then {@code after} is -1), the leader its server knows, and how
   * many relays ({@code hops}) stand between the sender and a server (0 from a server). Or, in
   * answer to a subscription, no changes but the relays to subscribe to instead ({@code
   * redirect}): the sender has all the followers it feeds.
   */
  record Update(long after, long index, String leader, int hops, List<Change> changes, byte[] snapshot, List<DiscoveredPeer> redirect) {
    Update(long after, long index, String leader, List<Change> changes, byte[] snapshot) {
      this(after, index, leader, 0, changes, snapshot, List.of());
    }

    boolean isSnapshot() {
      return snapshot != null;
    }

    boolean isRedirect() {
      return !redirect.isEmpty();
    }

    static Update redirect(long at, String leader, int hops, List<DiscoveredPeer> relays) {
      return new Update(at, at, leader, hops, List.of(), null, List.copyOf(relays));
    }
  }

  /** A client asks to follow from {@code from}, and to be sent updates at its own cluster address. */
  record Subscribe(long from, String host, int port) {}

  enum AskKind { WRITE, READ_INDEX, STATUS }

  /**
   * What a client asks of a server, answered later by an {@link Answer} with the same id. A
   * write carries its request's deadline (epoch ms): a question held up in the network must not
   * get a fresh one where it lands, or a write its caller was told "unknown, never after the
   * deadline" could apply later. A status question carries the deadline of the write when the
   * asking client took it, else 0.
   */
  record Ask(String id, AskKind kind, String requestId, long deadlineMillis, byte[] command, String host, int port) {}

  enum AnswerKind { OK, REFUSED, UNKNOWN, UNAVAILABLE, NOT_FOUND }

  /** A server's answer: the log index of a write or a read, or what went wrong; a status as text. */
  record Answer(String id, AnswerKind kind, long index, String text) {}

  static byte[] encode(Update u) {
    return write(out -> {
      out.writeByte(VERSION);
      out.writeByte(u.isSnapshot() ? SNAPSHOT : u.isRedirect() ? REDIRECT : CHANGES);
      out.writeLong(u.after());
      out.writeLong(u.index());
      out.writeUTF(u.leader());
      out.writeByte(u.hops());
      if (u.isSnapshot()) {
        blob(out, u.snapshot());
      } else if (u.isRedirect()) {
        out.writeByte(u.redirect().size());
        for (DiscoveredPeer p : u.redirect()) {
          out.writeUTF(p.nodeId());
          out.writeUTF(p.host());
          out.writeInt(p.port());
        }
      } else {
        out.writeInt(u.changes().size());
        for (Change c : u.changes()) {
          out.writeLong(c.index());
          blob(out, c.commands());
        }
      }
    });
  }

  static Update decodeUpdate(byte[] bytes) {
    return read(bytes, "update", in -> {
      int kind = in.readUnsignedByte();
      if (kind > REDIRECT) {
        throw new HiveException("update kind " + kind + " is not changes (0), a snapshot (1) or a redirect (2)");
      }
      boolean snapshot = kind == SNAPSHOT;
      long after = in.readLong();
      long index = in.readLong();
      String leader = in.readUTF();
      int hops = in.readUnsignedByte();
      if (index < 0 || (!snapshot && (after < 0 || after > index))) {
        throw new HiveException("an update from " + after + " to " + index + " goes backwards or below 0");
      }
      if (hops > MAX_HOPS) {
        throw new HiveException("an update " + hops + " relays away from a server; at most " + MAX_HOPS);
      }
      if (snapshot) {
        return new Update(-1, index, leader, hops, List.of(), blob(in, "snapshot"), List.of());
      }
      if (kind == REDIRECT) {
        int n = in.readUnsignedByte();
        if (n < 1 || n > MAX_REDIRECTS) {
          throw new HiveException("a redirect to " + n + " relays; 1 to " + MAX_REDIRECTS);
        }
        List<DiscoveredPeer> relays = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          String id = in.readUTF();
          String host = in.readUTF();
          if (id.isEmpty() || host.isEmpty()) {
            throw new HiveException("relay " + i + " of a redirect has no node id or no host");
          }
          relays.add(new DiscoveredPeer(id, host, port(in.readInt())));
        }
        return Update.redirect(after, leader, hops, relays);
      }
      int n = in.readInt();
      if (n < 0 || n > MAX_CHANGES) {
        throw new HiveException("an update with " + n + " changes; at most " + MAX_CHANGES);
      }
      List<Change> changes = new ArrayList<>(Math.min(n, 1024));
      long previous = after;
      for (int i = 0; i < n; i++) {
        long at = in.readLong();
        if (at <= previous || at > index) {
          throw new HiveException("change " + i + " is at index " + at + ", not after " + previous + " and at most " + index);
        }
        changes.add(new Change(at, blob(in, "change")));
        previous = at;
      }
      return new Update(after, index, leader, hops, List.copyOf(changes), null, List.of());
    });
  }

  static byte[] encode(Subscribe s) {
    return write(out -> {
      out.writeByte(VERSION);
      out.writeLong(s.from());
      out.writeUTF(s.host());
      out.writeInt(s.port());
    });
  }

  static Subscribe decodeSubscribe(byte[] bytes) {
    return read(bytes, "subscription", in -> new Subscribe(in.readLong(), in.readUTF(), port(in.readInt())));
  }

  static byte[] encode(Ask a) {
    return write(out -> {
      out.writeByte(VERSION);
      out.writeUTF(a.id());
      out.writeByte(a.kind().ordinal());
      out.writeUTF(a.requestId());
      out.writeLong(a.deadlineMillis());
      blob(out, a.command());
      out.writeUTF(a.host());
      out.writeInt(a.port());
    });
  }

  static Ask decodeAsk(byte[] bytes) {
    return read(bytes, "question", in -> {
      String id = in.readUTF();
      int kind = in.readUnsignedByte();
      if (kind >= AskKind.values().length) {
        throw new HiveException("question kind " + kind + " is not one of " + List.of(AskKind.values()));
      }
      String requestId = in.readUTF();
      long deadline = in.readLong();
      byte[] command = blob(in, "command");
      return new Ask(id, AskKind.values()[kind], requestId, deadline, command, in.readUTF(), port(in.readInt()));
    });
  }

  static byte[] encode(Answer a) {
    return write(out -> {
      out.writeByte(VERSION);
      out.writeUTF(a.id());
      out.writeByte(a.kind().ordinal());
      out.writeLong(a.index());
      out.writeUTF(a.text());
    });
  }

  static Answer decodeAnswer(byte[] bytes) {
    return read(bytes, "answer", in -> {
      String id = in.readUTF();
      int kind = in.readUnsignedByte();
      if (kind >= AnswerKind.values().length) {
        throw new HiveException("answer kind " + kind + " is not one of " + List.of(AnswerKind.values()));
      }
      return new Answer(id, AnswerKind.values()[kind], in.readLong(), in.readUTF());
    });
  }

  static byte[] encodeIndex(long index) {
    return write(out -> {
      out.writeByte(VERSION);
      out.writeLong(index);
    });
  }

  static long decodeIndex(byte[] bytes) {
    return read(bytes, "acknowledgement", DataInputStream::readLong);
  }

  private static int port(int port) {
    if (port < 1 || port > 65535) {
      throw new HiveException("port " + port + " is not 1-65535");
    }
    return port;
  }

  private static void blob(DataOutputStream out, byte[] bytes) throws IOException {
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static byte[] blob(DataInputStream in, String what) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > MAX_BLOB || n > in.available()) {
      throw new HiveException("the " + what + " says it has " + n + " bytes; " + in.available() + " follow (at most " + MAX_BLOB + ")");
    }
    return in.readNBytes(n);
  }

  private interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  private interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  private static byte[] write(Writer writer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writer.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static <T> T read(byte[] bytes, String what, Reader<T> reader) {
    DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes));
    try {
      int version = in.readUnsignedByte();
      if (version != VERSION) {
        throw new HiveException("a follow " + what + " of version " + version + "; this node reads version " + VERSION
            + " (upgrade every node to the same Hive version)");
      }
      T value = reader.read(in);
      if (in.available() > 0) {
        throw new HiveException("a follow " + what + " has " + in.available() + " bytes after its end");
      }
      return value;
    } catch (EOFException e) {
      throw new HiveException("a follow " + what + " of " + bytes.length + " bytes ends too early");
    } catch (java.io.UTFDataFormatException e) {
      throw new HiveException("a follow " + what + " holds text that is not modified UTF-8");
    } catch (IOException e) {
      throw new HiveException("cannot read a follow " + what + ": " + e.getMessage(), e);
    }
  }
}
