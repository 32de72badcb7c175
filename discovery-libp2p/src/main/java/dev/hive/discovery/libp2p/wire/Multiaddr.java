package dev.hive.discovery.libp2p.wire;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A multiaddr, e.g. {@code /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...}: its text and binary forms.
 * Knows the protocols a libp2p peer over TCP meets in identify and DHT answers; an address with
 * another protocol fails to decode and is skipped by its reader.
 */
public final class Multiaddr {
  /** One protocol and its value. */
  public record Component(Protocol protocol, String value) {}

  /** Known protocols: code, name, value size in bytes (0 none, -1 varint-prefixed). */
  public enum Protocol {
    IP4(4, "ip4", 4), TCP(6, "tcp", 2), UDP(273, "udp", 2), IP6(41, "ip6", 16), IP6ZONE(42, "ip6zone", -1),
    DNS(53, "dns", -1), DNS4(54, "dns4", -1), DNS6(55, "dns6", -1), DNSADDR(56, "dnsaddr", -1),
    P2P(421, "p2p", -1), P2P_CIRCUIT(290, "p2p-circuit", 0), WS(477, "ws", 0), WSS(478, "wss", 0),
    QUIC(460, "quic", 0), QUIC_V1(461, "quic-v1", 0), WEBTRANSPORT(465, "webtransport", 0), CERTHASH(466, "certhash", -1),
    TLS(448, "tls", 0), NOISE(454, "noise", 0), HTTP(480, "http", 0), WEBRTC_DIRECT(280, "webrtc-direct", 0), WEBRTC(281, "webrtc", 0);

    final int code;
    final String text;
    final int size;

    Protocol(int code, String text, int size) {
      this.code = code;
      this.text = text;
      this.size = size;
    }

    static Protocol byCode(long code) throws WireException {
      for (Protocol p : values()) {
        if (p.code == code) {
          return p;
        }
      }
      throw new WireException("multiaddr protocol code " + code + " is not known here");
    }

    static Optional<Protocol> byName(String name) {
      for (Protocol p : values()) {
        if (p.text.equals(name) || (p == P2P && name.equals("ipfs"))) {
          return Optional.of(p);
        }
      }
      return Optional.empty();
    }
  }

  private final List<Component> components;

  private Multiaddr(List<Component> components) {
    this.components = List.copyOf(components);
  }

  /** Returns {@code /ip4|ip6/HOST/tcp/PORT}. */
  public static Multiaddr tcp(String host, int port) {
    return parse((host.contains(":") ? "/ip6/" : "/ip4/") + host + "/tcp/" + port);
  }

  /**
   * Parses the text form.
   *
   * @throws IllegalArgumentException saying which part is wrong and what a multiaddr looks like
   */
  public static Multiaddr parse(String text) {
    String hint = "; a multiaddr looks like /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...";
    if (text == null || !text.startsWith("/")) {
      throw new IllegalArgumentException("'" + text + "' is not a multiaddr: it must start with /" + hint);
    }
    String[] parts = text.substring(1).split("/", -1);
    List<Component> components = new ArrayList<>();
    for (int i = 0; i < parts.length; i++) {
      String name = parts[i];
      Protocol p = Protocol.byName(name).orElseThrow(() -> new IllegalArgumentException("'" + text + "': unknown protocol '" + name + "'" + hint));
      String value = "";
      if (p.size != 0) {
        if (++i >= parts.length || parts[i].isEmpty()) {
          throw new IllegalArgumentException("'" + text + "': /" + name + " needs a value" + hint);
        }
        value = parts[i];
        try {
          encodeValue(p, value);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("'" + text + "': " + e.getMessage() + hint);
        }
      }
      components.add(new Component(p, value));
    }
    return new Multiaddr(components);
  }

  /**
   * Decodes the binary form.
   *
   * @throws WireException if it is malformed or uses a protocol not known here
   */
  public static Multiaddr fromBytes(byte[] bytes) throws WireException {
    ByteArrayInputStream in = new ByteArrayInputStream(bytes);
    List<Component> components = new ArrayList<>();
    try {
      long code;
      while ((code = Varint.read(in)) >= 0) {
        Protocol p = Protocol.byCode(code);
        int size = p.size;
        if (size < 0) {
          long n = Varint.read(in);
          if (n < 0 || n > in.available()) {
            throw new WireException("multiaddr value length " + n + " runs past the end");
          }
          size = (int) n;
        }
        byte[] raw = in.readNBytes(size);
        if (raw.length < size) {
          throw new WireException("multiaddr ends inside /" + p.text);
        }
        components.add(new Component(p, decodeValue(p, raw)));
      }
    } catch (WireException e) {
      throw e;
    } catch (IOException e) {
      throw new WireException("malformed multiaddr: " + e.getMessage());
    }
    if (components.isEmpty()) {
      throw new WireException("empty multiaddr");
    }
    return new Multiaddr(components);
  }

  /**
   * Decodes one value. A value the text form cannot carry is refused here, so that every address
   * decoded can be shown, parsed back and passed on as it came: an empty value, a name holding '/'
   * or bytes that are not UTF-8, an IPv4 address posing as /ip6.
   */
  private static String decodeValue(Protocol p, byte[] raw) throws WireException {
    if (p.size < 0 && raw.length == 0) {
      throw new WireException("multiaddr /" + p.text + " has an empty value");
    }
    try {
      return switch (p) {
        case IP4 -> InetAddress.getByAddress(raw).getHostAddress();
        case IP6 -> {
          InetAddress address = InetAddress.getByAddress(raw);
          if (!(address instanceof java.net.Inet6Address)) {
            throw new WireException("multiaddr /ip6 holds the IPv4 address " + address.getHostAddress() + "; that is /ip4");
          }
          yield address.getHostAddress();
        }
        case TCP, UDP -> Integer.toString(((raw[0] & 0xFF) << 8) | (raw[1] & 0xFF));
        case P2P -> PeerId.fromBytes(raw).toString();
        case CERTHASH -> java.util.HexFormat.of().formatHex(raw);
        default -> p.size == 0 ? "" : text(p, raw);
      };
    } catch (UnknownHostException e) {
      throw new WireException("bad address in multiaddr");
    }
  }

  private static String text(Protocol p, byte[] raw) throws WireException {
    String value;
    try {
      value = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(raw)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new WireException("multiaddr /" + p.text + " value is not UTF-8");
    }
    if (value.contains("/")) {
      throw new WireException("multiaddr /" + p.text + " value '" + value + "' holds a '/'");
    }
    return value;
  }

  private static byte[] encodeValue(Protocol p, String value) {
    switch (p) {
      case IP4, IP6 -> {
        boolean v4 = p == Protocol.IP4;
        if (v4 ? !value.matches("\\d{1,3}(\\.\\d{1,3}){3}") : !value.contains(":")) {
          throw new IllegalArgumentException("'" + value + "' is not an " + p.text + " address");
        }
        try {
          byte[] raw = InetAddress.getByName(value).getAddress();
          if (raw.length != p.size) {
            throw new IllegalArgumentException("'" + value + "' is not an " + p.text + " address");
          }
          return raw;
        } catch (UnknownHostException e) {
          throw new IllegalArgumentException("'" + value + "' is not an " + p.text + " address");
        }
      }
      case TCP, UDP -> {
        int port;
        try {
          port = Integer.parseInt(value);
        } catch (NumberFormatException e) {
          port = -1;
        }
        if (port < 0 || port > 65535) {
          throw new IllegalArgumentException("'" + value + "' is not a port (0-65535)");
        }
        return new byte[] {(byte) (port >> 8), (byte) port};
      }
      case P2P -> {
        return PeerId.parse(value).bytes();
      }
      case CERTHASH -> {
        return java.util.HexFormat.of().parseHex(value);
      }
      default -> {
        return value.getBytes(StandardCharsets.UTF_8);
      }
    }
  }

  /** Returns the binary form. */
  public byte[] bytes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      for (Component c : components) {
        Varint.write(out, c.protocol().code);
        if (c.protocol().size != 0) {
          byte[] raw = encodeValue(c.protocol(), c.value());
          if (c.protocol().size < 0) {
            Varint.write(out, raw.length);
          }
          out.write(raw);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  public List<Component> components() {
    return components;
  }

  private Optional<String> value(Protocol... protocols) {
    for (Component c : components) {
      for (Protocol p : protocols) {
        if (c.protocol() == p) {
          return Optional.of(c.value());
        }
      }
    }
    return Optional.empty();
  }

  /** Returns the host of an ip4/ip6/dns address. */
  public Optional<String> host() {
    return value(Protocol.IP4, Protocol.IP6, Protocol.DNS4, Protocol.DNS6, Protocol.DNS);
  }

  /** Returns the TCP port, if this is a TCP address. */
  public Optional<Integer> tcpPort() {
    return value(Protocol.TCP).map(Integer::parseInt);
  }

  /** Returns the peer id in {@code /p2p/...}. */
  public Optional<PeerId> peerId() {
    return value(Protocol.P2P).map(PeerId::parse);
  }

  /** Says whether this is a plain TCP address this node can dial: host and port, nothing else but /p2p. */
  public boolean isDialableTcp() {
    return host().isPresent() && tcpPort().isPresent()
        && components.stream().allMatch(c -> switch (c.protocol()) {
          case IP4, IP6, DNS, DNS4, DNS6, TCP, P2P -> true;
          default -> false;
        });
  }

  /** Returns this address without its {@code /p2p/...} part. */
  public Multiaddr withoutPeerId() {
    return new Multiaddr(components.stream().filter(c -> c.protocol() != Protocol.P2P).toList());
  }

  /** Returns this address ending in {@code /p2p/ID}. */
  public Multiaddr withPeerId(PeerId id) {
    List<Component> list = new ArrayList<>(withoutPeerId().components);
    list.add(new Component(Protocol.P2P, id.toString()));
    return new Multiaddr(list);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Multiaddr m && components.equals(m.components);
  }

  @Override
  public int hashCode() {
    return components.hashCode();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    for (Component c : components) {
      sb.append('/').append(c.protocol().text);
      if (c.protocol().size != 0) {
        sb.append('/').append(c.value());
      }
    }
    return sb.toString();
  }
}
