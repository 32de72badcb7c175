package dev.hive.discovery.mdns;

import dev.hive.api.UnavailableException;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.jmdns.JmDNS;
import javax.jmdns.ServiceEvent;
import javax.jmdns.ServiceInfo;
import javax.jmdns.ServiceListener;

/**
 * Discovery {@code mdns}: each node registers a {@value #TYPE} service named by its node id, with
 * TXT records {@code cluster}, {@code node}, {@code host}, {@code port} and {@code mac} (HMAC-SHA256
 * of the others, keyed by the join token); services of other clusters or with a wrong MAC are
 * ignored. The service's own port is the transport port (0 before the node is a member).
 */
final class MdnsDiscovery implements Discovery {
  static final String TYPE = "_hive._tcp.local.";

  private final String cluster;
  private final byte[] key;
  private final InetAddress address;
  private final Map<String, DiscoveredPeer> peers = new ConcurrentHashMap<>();
  private JmDNS jmdns;
  private ServiceInfo registered;
  private volatile DiscoveredPeer self;

  MdnsDiscovery(String cluster, String token, InetAddress address) {
    this.cluster = cluster;
    this.key = token.getBytes(StandardCharsets.UTF_8);
    this.address = address;
  }

  @Override
  public String name() {
    return "mdns";
  }

  @Override
  public synchronized void start(DiscoveredPeer self, Listener listener) {
    this.self = self;
    try {
      jmdns = JmDNS.create(address, "hive-" + self.nodeId());
    } catch (IOException e) {
      throw new UnavailableException("mdns discovery cannot start on " + address + ": " + e.getMessage(), e);
    }
    jmdns.addServiceListener(TYPE, new ServiceListener() {
      @Override
      public void serviceAdded(ServiceEvent event) {
        jmdns.requestServiceInfo(event.getType(), event.getName(), 1000);
      }

      @Override
      public void serviceRemoved(ServiceEvent event) {
        DiscoveredPeer gone = peers.remove(event.getName());
        if (gone != null) {
          listener.peerLost(gone);
        }
      }

      @Override
      public void serviceResolved(ServiceEvent event) {
        DiscoveredPeer peer = verify(event.getInfo());
        if (peer != null && !peer.nodeId().equals(MdnsDiscovery.this.self.nodeId()) && !peer.equals(peers.put(peer.nodeId(), peer))) {
          listener.peerFound(peer);
        }
      }
    });
    register(self);
  }

  @Override
  public synchronized void update(DiscoveredPeer self) {
    this.self = self;
    register(self);
  }

  private void register(DiscoveredPeer peer) {
    Map<String, String> txt = new HashMap<>();
    txt.put("cluster", cluster);
    txt.put("node", peer.nodeId());
    txt.put("host", peer.host());
    txt.put("port", Integer.toString(peer.port()));
    txt.put("mac", Base64.getEncoder().encodeToString(mac(peer.nodeId(), peer.host(), peer.port())));
    ServiceInfo info = ServiceInfo.create(TYPE, peer.nodeId(), Math.max(peer.port(), 1), 0, 0, txt);
    try {
      if (registered != null) {
        jmdns.unregisterService(registered);
      }
      jmdns.registerService(info);
      registered = info;
    } catch (IOException e) {
      throw new UnavailableException("mdns discovery cannot register " + peer.nodeId() + ": " + e.getMessage(), e);
    }
  }

  private DiscoveredPeer verify(ServiceInfo info) {
    try {
      String node = info.getPropertyString("node");
      String host = info.getPropertyString("host");
      String portText = info.getPropertyString("port");
      String mac = info.getPropertyString("mac");
      if (node == null || host == null || portText == null || mac == null || !cluster.equals(info.getPropertyString("cluster"))) {
        return null;
      }
      int port = Integer.parseInt(portText);
      if (!MessageDigest.isEqual(Base64.getDecoder().decode(mac), mac(node, host, port))) {
        return null;
      }
      if (host.equals("0.0.0.0") && info.getInet4Addresses().length > 0) {
        host = info.getInet4Addresses()[0].getHostAddress();
      }
      return new DiscoveredPeer(node, host, port);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private byte[] mac(String nodeId, String host, int port) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(("mdns|" + cluster + "|" + nodeId + "|" + host + "|" + port).getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  @Override
  public synchronized void close() {
    if (jmdns != null) {
      jmdns.unregisterAllServices();
      try {
        jmdns.close();
      } catch (IOException e) {
        // Closing.
      }
    }
  }
}
