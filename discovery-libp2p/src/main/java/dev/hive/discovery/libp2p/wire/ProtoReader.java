package dev.hive.discovery.libp2p.wire;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads protobuf fields one at a time from a byte array, checking every length against what is
 * left, so that garbage ends in a {@link WireException} and never in an exception of the JDK's or
 * a huge allocation. Unknown fields are skipped by the caller calling {@link #skip()}.
 */
public final class ProtoReader {
  private final byte[] data;
  private int position;
  private final int end;
  private int wireType = -1;

  public ProtoReader(byte[] data) {
    this(data, 0, data.length);
  }

  private ProtoReader(byte[] data, int offset, int end) {
    this.data = data;
    this.position = offset;
    this.end = end;
  }

  /**
   * Moves to the next field.
   *
   * @return its number, or -1 at the end of the message
   * @throws WireException if the tag is malformed
   */
  public int next() throws WireException {
    if (position >= end) {
      return -1;
    }
    long tag = varint();
    int field = (int) (tag >>> 3);
    wireType = (int) (tag & 7);
    if (field <= 0 || tag >>> 3 > 0x1FFFFFFF) {
      throw new WireException("protobuf field number " + (tag >>> 3) + " is invalid");
    }
    if (wireType == 3 || wireType == 4 || wireType == 6 || wireType == 7) {
      throw new WireException("protobuf wire type " + wireType + " is not supported");
    }
    return field;
  }

  private long varint() throws WireException {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (position >= end) {
        throw new WireException("protobuf message ends inside a varint");
      }
      int b = data[position++];
      value |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
    throw new WireException("protobuf varint longer than 10 bytes");
  }

  /** Reads the current field as a varint. */
  public long uint() throws WireException {
    expect(0);
    return varint();
  }

  /** Reads the current field as bytes. */
  public byte[] bytes() throws WireException {
    expect(2);
    int length = length();
    byte[] value = java.util.Arrays.copyOfRange(data, position, position + length);
    position += length;
    return value;
  }

  /** Reads the current field as UTF-8 text. */
  public String string() throws WireException {
    byte[] raw = bytes();
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(raw)).toString();
    } catch (CharacterCodingException e) {
      throw new WireException("protobuf string field is not UTF-8");
    }
  }

  /** Reads the current field as an embedded message. */
  public ProtoReader message() throws WireException {
    expect(2);
    int length = length();
    ProtoReader inner = new ProtoReader(data, position, position + length);
    position += length;
    return inner;
  }

  /** Skips the current field. */
  public void skip() throws WireException {
    switch (wireType) {
      case 0 -> varint();
      case 1 -> advance(8);
      case 2 -> advance(length());
      case 5 -> advance(4);
      default -> throw new WireException("protobuf wire type " + wireType + " cannot be skipped");
    }
  }

  private void advance(int n) throws WireException {
    if (end - position < n) {
      throw new WireException("protobuf field runs past the end of the message");
    }
    position += n;
  }

  private int length() throws WireException {
    long length = varint();
    if (length < 0 || length > end - position) {
      throw new WireException("protobuf length " + length + " runs past the end of the message (" + (end - position) + " bytes left)");
    }
    return (int) length;
  }

  private void expect(int type) throws WireException {
    if (wireType != type) {
      throw new WireException("protobuf field has wire type " + wireType + ", expected " + type);
    }
  }
}
