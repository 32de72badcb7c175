package dev.hive.core.service;

import dev.hive.api.InvalidSpecException;
import dev.hive.api.UnavailableException;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * An authoritative DNS server for the cluster's domain, answering from the {@link ServiceCatalog}
 * the way Consul's DNS interface does: {@code web.hive} has an A (or AAAA) record for each node
 * with a healthy instance of service {@code web}, {@code _web._tcp.hive} an SRV record per healthy
 * instance naming {@code <node>.node.hive} and the instance's host port, and {@code <node>.node.hive}
 * the node's address. Names in the domain that are none of these get NXDOMAIN; names outside it
 * REFUSED (it is not a recursive resolver). UDP and TCP, on one port.
 */
public final class ServiceDns implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceDns.class);
  private static final int CLASSIC_UDP_SIZE = 512;

  private final ServiceCatalog catalog;
  private final Function<String, Optional<String>> nodeAddress;
  private final Name domain;
  private final long ttl;
  private final DatagramSocket udp;
  private final ServerSocket tcp;
  private final ExecutorService threads;
  private volatile boolean closed;

  private ServiceDns(ServiceCatalog catalog, Function<String, Optional<String>> nodeAddress, Name domain, long ttl, DatagramSocket udp,
      ServerSocket tcp, ExecutorService threads) {
    this.catalog = catalog;
    this.nodeAddress = nodeAddress;
    this.domain = domain;
    this.ttl = ttl;
    this.udp = udp;
    this.tcp = tcp;
    this.threads = threads;
  }

  /**
   * Starts answering on {@code host}:{@code port}, UDP and TCP (port 0: any free port, the same for both).
   *
   * @param nodeAddress a node id's address, for {@code <node>.node.<domain>}
   * @param domain the cluster's domain, e.g. {@code hive} or {@code local}
   * @param ttlSeconds the TTL of every answer
   * @throws InvalidSpecException if the domain is not a domain name
   * @throws UnavailableException if the port cannot be bound
   */
  public static ServiceDns start(ServiceCatalog catalog, Function<String, Optional<String>> nodeAddress, String domain, long ttlSeconds,
      String host, int port) {
    Name origin = domainName(domain);
    DatagramSocket udp = null;
    ServerSocket tcp = null;
    // With port 0, the UDP socket picks a port and TCP takes the same one; when TCP finds it taken, pick again.
    for (int attempt = 0; tcp == null; attempt++) {
      try {
        udp = new DatagramSocket(new InetSocketAddress(host, port));
        ServerSocket candidate = new ServerSocket();
        candidate.setReuseAddress(true);
        try {
          candidate.bind(new InetSocketAddress(host, udp.getLocalPort()), 64);
        } catch (IOException e) {
          candidate.close();
          throw e;
        }
        tcp = candidate;
      } catch (IOException e) {
        if (udp != null) {
          udp.close();
        }
        if (port != 0 || attempt >= 20) {
          throw new UnavailableException("the DNS server cannot listen on " + host + ":" + port + ": " + e.getMessage()
              + "; choose another with hive daemon --dns-port (53 needs root), or -1 to turn DNS off", e);
        }
      }
    }
    ExecutorService threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "hive-dns");
      t.setDaemon(true);
      return t;
    });
    ServiceDns dns = new ServiceDns(catalog, nodeAddress, origin, ttlSeconds, udp, tcp, threads);
    threads.execute(dns::serveUdp);
    threads.execute(dns::serveTcp);
    return dns;
  }

  /**
   * Parses a domain such as {@code hive} or {@code local}.
   *
   * @throws InvalidSpecException if it is not a domain name
   */
  static Name domainName(String domain) {
    try {
      String text = domain.endsWith(".") ? domain : domain + ".";
      Name name = Name.fromString(text.toLowerCase(java.util.Locale.ROOT));
      if (name.labels() < 2) {
        throw new InvalidSpecException("dnsDomain", "the DNS domain cannot be the root; use e.g. hive or local");
      }
      return name;
    } catch (TextParseException e) {
      throw new InvalidSpecException("dnsDomain", "'" + domain + "' is not a domain name: " + e.getMessage() + "; use e.g. hive or local");
    }
  }

  /** Returns the port it listens on (UDP and TCP). */
  public int port() {
    return udp.getLocalPort();
  }

  private void serveUdp() {
    byte[] buffer = new byte[65535];
    while (!closed) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        udp.receive(packet);
        byte[] query = java.util.Arrays.copyOf(packet.getData(), packet.getLength());
        byte[] reply = answer(query, true);
        if (reply != null) {
          udp.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
        }
      } catch (SocketException e) {
        if (!closed) {
          log.warn("DNS over UDP stopped: {}", e.getMessage());
        }
        return;
      } catch (IOException | RuntimeException e) {
        log.debug("DNS over UDP: {}", e.getMessage());
      }
    }
  }

  private void serveTcp() {
    while (!closed) {
      try {
        Socket client = tcp.accept();
        threads.execute(() -> serveTcpClient(client));
      } catch (IOException e) {
        if (!closed) {
          log.warn("DNS over TCP stopped: {}", e.getMessage());
        }
        return;
      }
    }
  }

  /** DNS over TCP: each message prefixed by its length in two bytes; several per connection. */
  private void serveTcpClient(Socket client) {
    try (client) {
      client.setSoTimeout(10_000);
      DataInputStream in = new DataInputStream(client.getInputStream());
      DataOutputStream out = new DataOutputStream(client.getOutputStream());
      while (true) {
        int length;
        try {
          length = in.readUnsignedShort();
        } catch (EOFException e) {
          return;
        }
        byte[] query = new byte[length];
        in.readFully(query);
        byte[] reply = answer(query, false);
        if (reply == null) {
          return;
        }
        out.writeShort(reply.length);
        out.write(reply);
        out.flush();
      }
    } catch (IOException e) {
      log.debug("DNS over TCP from {}: {}", client.getRemoteSocketAddress(), e.getMessage());
    }
  }

  /**
   * Answers one query message; returns null when it cannot even be answered with an error (too
   * short to carry an id).
   */
  byte[] answer(byte[] wire, boolean udpTransport) {
    Message query;
    try {
      query = new Message(wire);
    } catch (IOException e) {
      if (wire.length < Header.LENGTH) {
        return null;
      }
      Header header = new Header(((wire[0] & 0xff) << 8) | (wire[1] & 0xff));
      header.setFlag(Flags.QR);
      header.setRcode(Rcode.FORMERR);
      Message reply = new Message();
      reply.setHeader(header);
      return reply.toWire();
    }
    Message reply = respond(query);
    int limit = CLASSIC_UDP_SIZE;
    OPTRecord opt = query.getOPT();
    if (opt != null) {
      limit = Math.max(CLASSIC_UDP_SIZE, opt.getPayloadSize());
      reply.addRecord(new OPTRecord(Math.min(opt.getPayloadSize(), 4096), 0, 0), Section.ADDITIONAL);
    }
    // A reply too big for UDP is truncated (TC set), and the resolver asks again over TCP.
    return udpTransport ? reply.toWire(limit) : reply.toWire();
  }

  Message respond(Message query) {
    Message reply = new Message(query.getHeader().getID());
    Header header = reply.getHeader();
    header.setFlag(Flags.QR);
    if (query.getHeader().getFlag(Flags.RD)) {
      header.setFlag(Flags.RD);
    }
    Record question = query.getQuestion();
    if (query.getHeader().getOpcode() != Opcode.QUERY) {
      header.setRcode(Rcode.NOTIMP);
      return reply;
    }
    if (question == null || query.getHeader().getCount(Section.QUESTION) != 1) {
      header.setRcode(Rcode.FORMERR);
      return reply;
    }
    reply.addRecord(question, Section.QUESTION);
    Name name = question.getName().canonicalize();
    if (!name.subdomain(domain)) {
      header.setRcode(Rcode.REFUSED);
      return reply;
    }
    header.setFlag(Flags.AA);
    int type = question.getType();
    int depth = name.labels() - domain.labels();
    boolean exists = false;
    if (depth == 0) {
      exists = true;
      if (type == Type.SOA || type == Type.ANY) {
        reply.addRecord(soa(), Section.ANSWER);
      }
    } else if (depth == 1 && catalog.definition(label(name, 0)).isPresent()) {
      exists = true;
      addAddresses(reply, name, catalog.endpoints(label(name, 0)), type);
    } else if (depth == 2 && label(name, 1).equals("_tcp") && label(name, 0).startsWith("_")
        && catalog.definition(label(name, 0).substring(1)).isPresent()) {
      exists = true;
      if (type == Type.SRV || type == Type.ANY) {
        addServices(reply, name, catalog.endpoints(label(name, 0).substring(1)));
      }
    } else if (depth == 2 && label(name, 1).equals("node")) {
      Optional<InetAddress> address = nodeAddress.apply(label(name, 0)).flatMap(ServiceDns::address);
      if (address.isPresent()) {
        exists = true;
        addRecord(reply, name, address.get(), type, Section.ANSWER);
      }
    }
    if (!exists) {
      header.setRcode(Rcode.NXDOMAIN);
    }
    if (reply.getSection(Section.ANSWER).isEmpty()) {
      // Negative answers carry the SOA so resolvers cache them for its minimum TTL.
      reply.addRecord(soa(), Section.AUTHORITY);
    }
    return reply;
  }

  private void addAddresses(Message reply, Name name, List<ServiceEndpoint> endpoints, int type) {
    Set<String> hosts = new LinkedHashSet<>();
    endpoints.forEach(e -> hosts.add(e.host()));
    for (String host : hosts) {
      address(host).ifPresent(a -> addRecord(reply, name, a, type, Section.ANSWER));
    }
  }

  private void addServices(Message reply, Name name, List<ServiceEndpoint> endpoints) {
    Set<String> targets = new LinkedHashSet<>();
    for (ServiceEndpoint e : endpoints) {
      Name target = nodeName(e.node());
      if (target == null) {
        continue;
      }
      reply.addRecord(new SRVRecord(name, DClass.IN, ttl, 1, 1, e.port(), target), Section.ANSWER);
      if (targets.add(e.node())) {
        address(e.host()).ifPresent(a -> addRecord(reply, target, a, Type.ANY, Section.ADDITIONAL));
      }
    }
  }

  private void addRecord(Message reply, Name name, InetAddress address, int type, int section) {
    if (address instanceof Inet4Address && (type == Type.A || type == Type.ANY)) {
      reply.addRecord(new ARecord(name, DClass.IN, ttl, address), section);
    } else if (address instanceof Inet6Address && (type == Type.AAAA || type == Type.ANY)) {
      reply.addRecord(new AAAARecord(name, DClass.IN, ttl, address), section);
    }
  }

  private Name nodeName(String node) {
    try {
      return Name.concatenate(Name.fromString(node.toLowerCase(java.util.Locale.ROOT) + ".node", null), domain);
    } catch (TextParseException | org.xbill.DNS.NameTooLongException e) {
      return null;
    }
  }

  private SOARecord soa() {
    Name ns = nodeName("ns");
    Name admin = nodeName("hostmaster");
    return new SOARecord(domain, DClass.IN, ttl, ns, admin, 1, 3600, 600, 86400, ttl);
  }

  private static String label(Name name, int index) {
    return name.getLabelString(index).toLowerCase(java.util.Locale.ROOT);
  }

  /** Returns the address of a node's host, a literal or a name resolved by the system. */
  private static Optional<InetAddress> address(String host) {
    try {
      return Optional.of(InetAddress.getByName(host));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  @Override
  public void close() {
    closed = true;
    udp.close();
    try {
      tcp.close();
    } catch (IOException e) {
      log.debug("closing DNS over TCP: {}", e.getMessage());
    }
    threads.shutdownNow();
  }
}
