package dev.hive.discovery.libp2p.wire;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Predicate;

/**
 * multistream-select 1.0.0: agreeing on a protocol for a connection or stream. Every message is
 * a varint-prefixed UTF-8 line ending in a newline; the dialer proposes, the listener echoes what
 * it accepts or answers {@code na}.
 */
public final class Multistream {
  public static final String PROTOCOL_ID = "/multistream/1.0.0";
  /** Protocol ids are short; a longer line is garbage. */
  static final int MAX_LINE = 1024;

  private Multistream() {}

  /** The listener supports none of the protocols the dialer proposed. */
  public static final class NotSupportedException extends IOException {
    private static final long serialVersionUID = 1L;

    public NotSupportedException(String message) {
      super(message);
    }
  }

  static byte[] line(String text) {
    byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 2);
    try {
      Varint.write(out, body.length);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    out.writeBytes(body);
    return out.toByteArray();
  }

  /**
   * Reads one line.
   *
   * @throws WireException if it is too long, lacks its newline or is not UTF-8
   * @throws java.io.EOFException if the stream ends first
   */
  public static String readLine(InputStream in) throws IOException {
    byte[] raw = Varint.readPrefixed(in, MAX_LINE);
    if (raw == null) {
      throw new java.io.EOFException("stream ended during protocol negotiation");
    }
    if (raw.length == 0 || raw[raw.length - 1] != '\n') {
      throw new WireException("multistream message does not end in a newline");
    }
    String text = new String(raw, 0, raw.length - 1, StandardCharsets.UTF_8);
    if (text.indexOf('\n') >= 0 || text.indexOf('\uFFFD') >= 0) {
      throw new WireException("multistream message is not one UTF-8 line");
    }
    return text;
  }

  /**
   * The dialer's first message for one protocol: the header and the proposal, to be followed at
   * once by the protocol's own bytes (lazy negotiation, as go-libp2p does for one protocol);
   * {@link #confirm} later reads the listener's answer.
   */
  public static byte[] propose(String protocol) {
    ByteArrayOutputStream first = new ByteArrayOutputStream();
    first.writeBytes(line(PROTOCOL_ID));
    first.writeBytes(line(protocol));
    return first.toByteArray();
  }

  /**
   * Reads the listener's answer to {@link #propose}.
   *
   * @throws NotSupportedException if it refused the protocol
   * @throws WireException if the listener does not speak multistream-select
   */
  public static void confirm(InputStream in, String protocol) throws IOException {
    String header = readLine(in);
    if (!header.equals(PROTOCOL_ID)) {
      throw new WireException("peer answered '" + header + "' instead of " + PROTOCOL_ID);
    }
    String answer = readLine(in);
    if (answer.equals("na")) {
      throw new NotSupportedException("peer does not support " + protocol);
    }
    if (!answer.equals(protocol)) {
      throw new WireException("peer answered '" + answer + "' to a proposal of " + protocol);
    }
  }

  /**
   * The dialer's side: proposes {@code protocols} in order and returns the one accepted.
   *
   * @throws NotSupportedException if the listener accepts none
   * @throws WireException if the listener does not speak multistream-select
   */
  public static String select(InputStream in, OutputStream out, List<String> protocols) throws IOException {
    ByteArrayOutputStream first = new ByteArrayOutputStream();
    first.writeBytes(line(PROTOCOL_ID));
    first.writeBytes(line(protocols.get(0)));
    out.write(first.toByteArray());
    out.flush();
    String header = readLine(in);
    if (!header.equals(PROTOCOL_ID)) {
      throw new WireException("peer answered '" + header + "' instead of " + PROTOCOL_ID);
    }
    for (int i = 0; i < protocols.size(); i++) {
      if (i > 0) {
        out.write(line(protocols.get(i)));
        out.flush();
      }
      String answer = readLine(in);
      if (answer.equals(protocols.get(i))) {
        return answer;
      }
      if (!answer.equals("na")) {
        throw new WireException("peer answered '" + answer + "' to a proposal of " + protocols.get(i));
      }
    }
    throw new NotSupportedException("peer supports none of " + protocols);
  }

  /**
   * The listener's side: answers proposals until one is {@code supported}, and returns it.
   *
   * @throws WireException if the dialer does not speak multistream-select or proposes too often
   */
  public static String handle(InputStream in, OutputStream out, Predicate<String> supported) throws IOException {
    // The header goes out with the first answer: dialers send their header and first proposal
    // together and wait for both, so one message instead of two costs them nothing.
    String header = readLine(in);
    if (!header.equals(PROTOCOL_ID)) {
      out.write(line(PROTOCOL_ID));
      out.flush();
      throw new WireException("dialer sent '" + header + "' instead of " + PROTOCOL_ID);
    }
    ByteArrayOutputStream pending = new ByteArrayOutputStream();
    pending.writeBytes(line(PROTOCOL_ID));
    for (int attempts = 0; attempts < 32; attempts++) {
      String proposal = readLine(in);
      boolean accepted = !proposal.equals("ls") && supported.test(proposal);
      pending.writeBytes(line(accepted ? proposal : "na"));
      out.write(pending.toByteArray());
      out.flush();
      pending.reset();
      if (accepted) {
        return proposal;
      }
    }
    throw new WireException("dialer proposed 32 protocols without agreeing on one");
  }
}
