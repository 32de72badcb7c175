package dev.hive.core.transport.tcp;

import static dev.hive.core.fuzz.Refusal.decodesOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * The cluster transport's frames as a connected peer may send them: frame after frame, and a
 * stream's DATA frames read through its body as the server does. Each frame reads or is refused
 * with an {@link IOException} (a protocol error, or the end); a frame that reads writes back to
 * the same frame.
 */
class TcpFramesFuzzTest {
  @FuzzTest
  void frames(byte[] bytes) {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
    decodesOrRefuses(bytes, IOException.class, () -> {
      while (true) {
        Frame frame = Frame.read(in);
        assertRoundTrip(frame);
        if (frame.type() == Frame.STREAM_OPEN) {
          try (TcpTransport.StreamBody body = new TcpTransport.StreamBody(in)) {
            body.readAllBytes();
          }
        }
      }
    });
  }

  /** A frame read writes back to bytes that read as the same frame; failing that is a finding, not a refusal. */
  private static void assertRoundTrip(Frame frame) {
    Frame again;
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      frame.write(new DataOutputStream(out));
      again = Frame.read(new DataInputStream(new ByteArrayInputStream(out.toByteArray())));
    } catch (IOException e) {
      throw new AssertionError("frame " + frame.type() + " '" + frame.topic() + "' does not read back: " + e, e);
    }
    assertThat(again.type()).isEqualTo(frame.type());
    assertThat(again.id()).isEqualTo(frame.id());
    assertThat(again.topic()).isEqualTo(frame.topic());
    assertThat(again.payload()).isEqualTo(frame.payload());
  }
}
