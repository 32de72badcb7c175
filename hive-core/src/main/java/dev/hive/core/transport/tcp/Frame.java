package dev.hive.core.transport.tcp;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * One frame of the tcp transport, inside TLS: {@code type:u8 id:u64 topicLength:u16 topic
 * payloadLength:u32 payload}. Anything else -- an unknown type, a topic over 256 bytes, a payload
 * over 16 MiB -- is a protocol error and the connection is dropped.
 */
record Frame(byte type, long id, String topic, byte[] payload) {
  static final byte REQUEST = 1;
  static final byte RESPONSE = 2;
  static final byte ERROR = 3;
  static final byte STREAM_OPEN = 4;
  static final byte STREAM_DATA = 5;
  static final byte STREAM_END = 6;
  /** Opens a channel: after it the connection carries raw bytes both ways, no more frames. */
  static final byte CHANNEL_OPEN = 7;

  static final int MAX_TOPIC = 256;
  static final int MAX_PAYLOAD = 16 * 1024 * 1024;
  private static final byte[] EMPTY = new byte[0];

  static Frame of(byte type, long id, String topic, byte[] payload) {
    return new Frame(type, id, topic == null ? "" : topic, payload == null ? EMPTY : payload);
  }

  void write(DataOutputStream out) throws IOException {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    out.writeByte(type);
    out.writeLong(id);
    out.writeShort(t.length);
    out.write(t);
    out.writeInt(payload.length);
    out.write(payload);
  }

  /**
   * Reads one frame.
   *
   * @throws ProtocolException for bytes that are not a frame
   * @throws EOFException when the peer closed the connection
   */
  static Frame read(DataInputStream in) throws IOException {
    byte type = in.readByte();
    if (type < REQUEST || type > CHANNEL_OPEN) {
      throw new ProtocolException("unknown frame type " + type);
    }
    long id = in.readLong();
    int topicLength = in.readUnsignedShort();
    if (topicLength > MAX_TOPIC) {
      throw new ProtocolException("topic of " + topicLength + " bytes is over " + MAX_TOPIC);
    }
    byte[] topic = new byte[topicLength];
    in.readFully(topic);
    int length = in.readInt();
    if (length < 0 || length > MAX_PAYLOAD) {
      throw new ProtocolException("payload of " + length + " bytes is outside 0.." + MAX_PAYLOAD);
    }
    byte[] payload = new byte[length];
    in.readFully(payload);
    return new Frame(type, id, topic(topic), payload);
  }

  /**
   * A topic must be UTF-8: bytes that are not would read as replacement characters, three bytes
   * each, and the reply that echoes the topic would be a frame over {@link #MAX_TOPIC} that the
   * peer refuses.
   */
  private static String topic(byte[] bytes) throws ProtocolException {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new ProtocolException("topic of " + bytes.length + " bytes is not UTF-8");
    }
  }

  /** Bytes that are not the tcp transport's protocol. */
  static final class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
      super(message);
    }
  }
}
