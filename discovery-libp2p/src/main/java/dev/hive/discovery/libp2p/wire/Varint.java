package dev.hive.discovery.libp2p.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Unsigned LEB128 varints as multiformats and protobuf use them, and messages prefixed with one. */
public final class Varint {
  private Varint() {}

  /** Writes {@code value} (treated as unsigned). */
  public static void write(OutputStream out, long value) throws IOException {
    while ((value & ~0x7FL) != 0) {
      out.write((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.write((int) value);
  }

  /** Returns the encoding of {@code value}. */
  public static byte[] encode(long value) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(10);
    try {
      write(out, value);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  /**
   * Reads a varint of at most 9 bytes (63 bits), as the multiformats spec limits it.
   *
   * @return the value, or -1 at a clean end of stream before its first byte
   * @throws WireException if it is longer than 9 bytes or the stream ends inside it
   */
  public static long read(InputStream in) throws IOException {
    long value = 0;
    for (int i = 0; i < 9; i++) {
      int b = in.read();
      if (b < 0) {
        if (i == 0) {
          return -1;
        }
        throw new EOFException("stream ended inside a varint");
      }
      value |= (long) (b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) {
        if (i > 0 && b == 0) {
          throw new WireException("varint is not minimally encoded");
        }
        return value;
      }
    }
    throw new WireException("varint longer than 9 bytes");
  }

  /**
   * Reads one message prefixed by its varint length.
   *
   * @return the message, or null at a clean end of stream
   * @throws WireException if the length is over {@code max}
   */
  public static byte[] readPrefixed(InputStream in, int max) throws IOException {
    long length = read(in);
    if (length < 0) {
      return null;
    }
    if (length > max) {
      throw new WireException("message of " + length + " bytes is over the limit of " + max);
    }
    byte[] message = in.readNBytes((int) length);
    if (message.length < length) {
      throw new EOFException("stream ended inside a message of " + length + " bytes");
    }
    return message;
  }

  /** Writes {@code message} prefixed by its varint length, and flushes. */
  public static void writePrefixed(OutputStream out, byte[] message) throws IOException {
    java.io.ByteArrayOutputStream framed = new java.io.ByteArrayOutputStream(message.length + 5);
    write(framed, message.length);
    framed.write(message);
    out.write(framed.toByteArray());
    out.flush();
  }
}
