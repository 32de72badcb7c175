package dev.hive.discovery.mdns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Picks the interface mDNS announces on, preferring the fastest kind as Node Controller does:
 * Thunderbolt bridges and wired Ethernet over wireless, and virtual bridges (Docker, libvirt,
 * veth) only when asked, since peers on them are usually on this very host.
 */
final class InterfaceChoice {
  private InterfaceChoice() {}

  /** Lower is better; {@link Integer#MAX_VALUE} means never. */
  static int rank(String name, boolean includeVirtual) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.startsWith("lo")) {
      return Integer.MAX_VALUE;
    }
    if (n.startsWith("docker") || n.startsWith("br-") || n.startsWith("virbr") || n.startsWith("veth") || n.startsWith("cni")
        || n.startsWith("podman") || n.startsWith("flannel") || n.startsWith("tun") || n.startsWith("tap")) {
      return includeVirtual ? 40 : Integer.MAX_VALUE;
    }
    if (n.startsWith("thunderbolt") || n.startsWith("tb")) {
      return 0;
    }
    if (n.startsWith("eth") || n.startsWith("en") || n.startsWith("em") || n.startsWith("bond")) {
      return 10;
    }
    if (n.startsWith("wl") || n.startsWith("wifi") || n.startsWith("ath")) {
      return 30;
    }
    return 20;
  }

  /** The IPv4 address of the best multicast-capable interface, or of the one named. */
  static Optional<InetAddress> choose(String named, boolean includeVirtual) throws SocketException {
    List<NetworkInterface> candidates = new ArrayList<>();
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || !nic.supportsMulticast() || ipv4(nic).isEmpty()) {
        continue;
      }
      if (named != null ? nic.getName().equals(named) : rank(nic.getName(), includeVirtual) != Integer.MAX_VALUE) {
        candidates.add(nic);
      }
    }
    candidates.sort(Comparator.comparingInt((NetworkInterface nic) -> rank(nic.getName(), includeVirtual)).thenComparing(NetworkInterface::getName));
    return candidates.stream().findFirst().flatMap(InterfaceChoice::ipv4);
  }

  private static Optional<InetAddress> ipv4(NetworkInterface nic) {
    return Collections.list(nic.getInetAddresses()).stream().filter(a -> a instanceof Inet4Address).findFirst();
  }
}
