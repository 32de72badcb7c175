package dev.hive.discovery.udp;

import dev.hive.api.UnavailableException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Discovery {@code udp}: every interval, a signed {@link Beacon} to the limited broadcast address
 * and to each interface's broadcast address on the discovery port; beacons of other clusters,
 * with a wrong MAC, from this node, or more than five minutes off this node's clock are dropped.
 * A peer not heard from for {@code lostAfter} is reported lost.
 */
final class UdpDiscovery implements Discovery {
  private static final Logger log = LoggerFactory.getLogger(UdpDiscovery.class);
  private static final long MAX_SKEW_MILLIS = Duration.ofMinutes(5).toMillis();

  private final String cluster;
  private final byte[] key;
  private final int port;
  private final Duration interval;
  private final Duration lostAfter;
  private final Map<String, DiscoveredPeer> peers = new ConcurrentHashMap<>();
  private final Map<String, Long> heardAt = new ConcurrentHashMap<>();
  private volatile DiscoveredPeer self;
  private volatile boolean closed;
  private DatagramSocket socket;
  private ScheduledExecutorService timers;
  private Thread receiver;

  UdpDiscovery(String cluster, byte[] key, int port, Duration interval, Duration lostAfter) {
    this.cluster = cluster;
    this.key = key;
    this.port = port;
    this.interval = interval;
    this.lostAfter = lostAfter;
  }

  @Override
  public String name() {
    return "udp";
  }

  @Override
  public void start(DiscoveredPeer self, Listener listener) {
    this.self = self;
    try {
      socket = new DatagramSocket(null);
      socket.setReuseAddress(true);
      if (socket.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT)) {
        // Several nodes on one host (tests, a laptop) share the port; broadcasts reach them all.
        socket.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      }
      socket.setBroadcast(true);
      socket.bind(new InetSocketAddress(port));
    } catch (IOException e) {
      throw new UnavailableException("udp discovery cannot bind UDP port " + port + ": " + e.getMessage()
          + "; choose another with the setting hive.udp.port (every node the same)", e);
    }
    timers = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "hive-udp-beacon");
      t.setDaemon(true);
      return t;
    });
    timers.scheduleWithFixedDelay(this::send, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    timers.scheduleWithFixedDelay(() -> expire(listener), interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    receiver = new Thread(() -> receive(listener), "hive-udp-receiver");
    receiver.setDaemon(true);
    receiver.start();
  }

  @Override
  public void update(DiscoveredPeer self) {
    this.self = self;
    if (timers != null) {
      timers.execute(this::send);
    }
  }

  private void send() {
    DiscoveredPeer me = self;
    byte[] data = new Beacon(cluster, me.nodeId(), me.host(), me.port(), System.currentTimeMillis()).encode(key);
    for (InetAddress target : broadcastAddresses()) {
      try {
        socket.send(new DatagramPacket(data, data.length, target, port));
      } catch (IOException e) {
        log.debug("beacon to {} failed: {}", target, e.getMessage());
      }
    }
  }

  private static Set<InetAddress> broadcastAddresses() {
    Set<InetAddress> targets = new LinkedHashSet<>();
    try {
      targets.add(InetAddress.getByName("255.255.255.255"));
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nic.isUp()) {
          continue;
        }
        for (InterfaceAddress a : nic.getInterfaceAddresses()) {
          if (a.getBroadcast() != null) {
            targets.add(a.getBroadcast());
          }
        }
      }
    } catch (IOException e) {
      log.debug("cannot list interfaces: {}", e.getMessage());
    }
    return targets;
  }

  private void receive(Listener listener) {
    byte[] buffer = new byte[Beacon.MAX_SIZE + 1];
    while (!closed) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        socket.receive(packet);
      } catch (SocketException e) {
        if (!closed) {
          log.warn("udp discovery stopped receiving: {}", e.getMessage());
        }
        return;
      } catch (IOException e) {
        continue;
      }
      Beacon beacon = Beacon.decode(packet.getData(), packet.getLength(), key);
      if (beacon == null || !beacon.cluster().equals(cluster) || beacon.nodeId().equals(self.nodeId())
          || Math.abs(System.currentTimeMillis() - beacon.sentAtMillis()) > MAX_SKEW_MILLIS) {
        continue;
      }
      String host = beacon.host().isEmpty() || beacon.host().equals("0.0.0.0") ? packet.getAddress().getHostAddress() : beacon.host();
      DiscoveredPeer peer = new DiscoveredPeer(beacon.nodeId(), host, beacon.port());
      heardAt.put(peer.nodeId(), System.nanoTime());
      DiscoveredPeer known = peers.put(peer.nodeId(), peer);
      if (!peer.equals(known)) {
        listener.peerFound(peer);
      }
    }
  }

  private void expire(Listener listener) {
    long now = System.nanoTime();
    for (Map.Entry<String, Long> e : heardAt.entrySet()) {
      if (now - e.getValue() > lostAfter.toNanos()) {
        heardAt.remove(e.getKey());
        DiscoveredPeer gone = peers.remove(e.getKey());
        if (gone != null) {
          listener.peerLost(gone);
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    if (timers != null) {
      timers.shutdownNow();
    }
    if (socket != null) {
      socket.close();
    }
  }
}
