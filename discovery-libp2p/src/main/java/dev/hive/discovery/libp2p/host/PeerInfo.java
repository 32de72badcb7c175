package dev.hive.discovery.libp2p.host;

import dev.hive.discovery.libp2p.wire.Multiaddr;
import dev.hive.discovery.libp2p.wire.PeerId;
import java.util.List;
import java.util.Set;

/**
 * What this host knows of a peer: where it listens and, once identified, its protocols and agent.
 *
 * @param protocols empty until the peer is identified
 */
public record PeerInfo(PeerId id, List<Multiaddr> addrs, Set<String> protocols, String agentVersion) {
  public PeerInfo {
    addrs = List.copyOf(addrs);
    protocols = Set.copyOf(protocols);
  }
}
