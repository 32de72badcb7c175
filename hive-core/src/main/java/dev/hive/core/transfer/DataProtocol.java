package dev.hive.core.transfer;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * The bytes of a data stream. The sender opens with {@code "HVT1" token:16}, then sends chunks,
 * {@code 1 index:u32 length:u32 sha256:32 data}, and {@code 2} when it has no more. The receiver
 * answers each chunk with {@code 1 index:u32} (verified and written) or {@code 2 index:u32}
 * (failed verification, send it again), or ends the stream with {@code 3 length:u16 message}.
 */
final class DataProtocol {
  static final int MAGIC = 0x48565431; // "HVT1"
  static final int TOKEN_BYTES = 16;
  static final int HELLO_BYTES = 4 + TOKEN_BYTES;
  static final byte CHUNK = 1;
  static final byte END = 2;
  static final int CHUNK_HEADER_BYTES = 1 + 4 + 4 + 32;
  static final byte ACK = 1;
  static final byte NACK = 2;
  static final byte ERROR = 3;
  static final int REPLY_BYTES = 5;

  private DataProtocol() {}

  /** Fills {@code b} from the channel. @throws EOFException if the stream ends first */
  static void readFully(ReadableByteChannel in, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (in.read(b) < 0) {
        throw new EOFException("the stream ended " + b.remaining() + " bytes early");
      }
    }
  }

  /** Writes all of {@code b}. */
  static void writeFully(WritableByteChannel out, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      out.write(b);
    }
  }

  /** Sends an error and nothing after it. */
  static void writeError(WritableByteChannel out, String message) throws IOException {
    byte[] m = message.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(m.length, 4000);
    ByteBuffer b = ByteBuffer.allocate(3 + n);
    b.put(ERROR).putShort((short) n).put(m, 0, n).flip();
    writeFully(out, b);
  }

  /** A data stream that breaks the protocol: it is closed, and nothing else is affected. */
  static final class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
      super(message);
    }
  }
}
