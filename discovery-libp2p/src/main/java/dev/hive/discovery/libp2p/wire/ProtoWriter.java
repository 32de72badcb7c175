package dev.hive.discovery.libp2p.wire;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes protobuf fields in the order they are added. Callers add fields in field-number order
 * and skip defaults, which makes the output the canonical encoding other implementations re-create
 * when they check a signature over it.
 */
public final class ProtoWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  private void tag(int field, int wireType) {
    varint((long) field << 3 | wireType);
  }

  private void varint(long value) {
    while ((value & ~0x7FL) != 0) {
      out.write((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.write((int) value);
  }

  /** Adds a varint field (int, enum, bool). */
  public ProtoWriter uint(int field, long value) {
    tag(field, 0);
    varint(value);
    return this;
  }

  /** Adds a length-delimited field. Null adds nothing. */
  public ProtoWriter bytes(int field, byte[] value) {
    if (value != null) {
      tag(field, 2);
      varint(value.length);
      out.writeBytes(value);
    }
    return this;
  }

  /** Adds a string field. Null adds nothing. */
  public ProtoWriter string(int field, String value) {
    return value == null ? this : bytes(field, value.getBytes(StandardCharsets.UTF_8));
  }

  /** Adds an embedded message. Null adds nothing. */
  public ProtoWriter message(int field, ProtoWriter value) {
    return value == null ? this : bytes(field, value.toByteArray());
  }

  public byte[] toByteArray() {
    return out.toByteArray();
  }
}
