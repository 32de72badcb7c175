package dev.hive.core.transfer;

import static dev.hive.core.fuzz.Refusal.decodesOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.OverwritePolicy;
import dev.hive.api.TransferOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * What a sending node controls of a transfer: the manifest it opens the transfer with, and the
 * chunk headers and data on the data stream. A manifest is read or refused with an
 * {@link InvalidSpecException}; a data stream ends normally, with an error sent back, or with an
 * {@link IOException} -- never with another exception escaping the receiver.
 */
class TransferFuzzTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @FuzzTest
  @DictionaryEntries({"\"id\"", "\"destination\"", "\"directory\"", "\"chunkSize\"", "\"files\"", "\"path\"", "\"size\"", "\"mode\"",
      "\"bytesTotal\"", "\"overwrite\"", "\"directories\"", "\"FAIL\"", "\"REPLACE\"", "\"tx-0123456789ab\"", "65536", "420", "493"})
  void manifest(byte[] bytes) {
    TransferManifest manifest = decodesOrRefuses(bytes, InvalidSpecException.class, () -> TransferManifest.decode(bytes));
    if (manifest != null) {
      assertThat(TransferManifest.decode(manifest.encode())).as("the manifest read back from its encoding").isEqualTo(manifest);
    }
  }

  /** One receiver with one open transfer of four chunks, shared by every input: a session is costly to open. */
  private static final class Receiving {
    static final TransferReceiver RECEIVER;
    static final byte[] HELLO;

    static {
      try {
        Path root = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "fuzz-receive-");
        RECEIVER = new TransferReceiver(new ReceiveRoot(root), new BufferPool(16L << 20), "127.0.0.1", 0, Duration.ofSeconds(60));
        long size = 3L * TransferOptions.MIN_CHUNK_SIZE + 100;
        TransferManifest manifest = new TransferManifest("tx-0123456789ab", "data.bin", false, TransferOptions.MIN_CHUNK_SIZE,
            List.of(new TransferManifest.Entry("", size)), size, OverwritePolicy.REPLACE);
        byte[] request = JSON.writeValueAsBytes(JSON.createObjectNode().set("manifest", JSON.readTree(manifest.encode())));
        String token = JSON.readTree(RECEIVER.open("n1", request)).get("token").asText();
        HELLO = ByteBuffer.allocate(DataProtocol.HELLO_BYTES).putInt(DataProtocol.MAGIC).put(HexFormat.of().parseHex(token)).array();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  /** A data stream in memory: reads the given bytes, then the end; keeps what the receiver answers. */
  private static final class Stream implements ByteChannel {
    private final ByteBuffer in;
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private boolean open = true;

    Stream(byte[] bytes) {
      in = ByteBuffer.wrap(bytes);
    }

    @Override
    public int read(ByteBuffer dst) {
      if (!in.hasRemaining()) {
        return -1;
      }
      int n = Math.min(dst.remaining(), in.remaining());
      ByteBuffer slice = in.slice().limit(n);
      dst.put(slice);
      in.position(in.position() + n);
      return n;
    }

    @Override
    public int write(ByteBuffer src) {
      int n = src.remaining();
      byte[] b = new byte[n];
      src.get(b);
      out.writeBytes(b);
      return n;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      open = false;
    }
  }

  @FuzzTest
  void dataStream(byte[] afterHello) {
    byte[] input = Arrays.copyOf(Receiving.HELLO, Receiving.HELLO.length + afterHello.length);
    System.arraycopy(afterHello, 0, input, Receiving.HELLO.length, afterHello.length);
    Stream stream = new Stream(input);
    decodesOrRefuses(afterHello, IOException.class, () -> {
      Receiving.RECEIVER.serve("n1", stream);
      return null;
    });
    // Every answer is a whole reply: ACK or NACK and a chunk index, or an error with its length.
    ByteBuffer replies = ByteBuffer.wrap(stream.out.toByteArray());
    while (replies.hasRemaining()) {
      byte kind = replies.get();
      if (kind == DataProtocol.ERROR) {
        int length = replies.getShort() & 0xffff;
        assertThat(replies.remaining()).as("the error's message").isEqualTo(length);
        break;
      }
      assertThat(kind).isIn(DataProtocol.ACK, DataProtocol.NACK);
      replies.getInt();
    }
  }
}
