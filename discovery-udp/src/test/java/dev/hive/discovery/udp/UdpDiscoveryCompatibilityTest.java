package dev.hive.discovery.udp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.kit.DiscoveryCompatibilityKit;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

class UdpDiscoveryCompatibilityTest extends DiscoveryCompatibilityKit {
  /** A port of this test run's own, so that concurrent runs on one host do not hear each other. */
  private final int port = 20000 + ThreadLocalRandom.current().nextInt(20000);

  @Override
  protected Discovery open(String cluster, String token) {
    return new UdpDiscoveryProvider().create(new ProviderConfig(Path.of("."), cluster, "kit", Clock.systemUTC(),
        Map.of(Discovery.TOKEN_SETTING, token, "hive.udp.port", Integer.toString(port), "hive.udp.interval", "200ms", "hive.udp.lost-after", "2s")));
  }

  @Test
  void aForgedOrAlteredBeaconIsIgnored() throws Exception {
    byte[] key = "kit-token-0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    byte[] good = new Beacon("kit", "node-x", "127.0.0.1", 7005, System.currentTimeMillis()).encode(key);
    assertThat(Beacon.decode(good, good.length, key)).isNotNull();
    byte[] altered = good.clone();
    altered[12] ^= 1;
    assertThat(Beacon.decode(altered, altered.length, key)).isNull();
    byte[] forged = new Beacon("kit", "node-x", "127.0.0.1", 7005, System.currentTimeMillis()).encode("wrong-token-0123456789abc".getBytes(StandardCharsets.UTF_8));
    assertThat(Beacon.decode(forged, forged.length, key)).isNull();
    byte[] garbage = new byte[100];
    ThreadLocalRandom.current().nextBytes(garbage);
    assertThat(Beacon.decode(garbage, garbage.length, key)).isNull();

    // On the wire: the forged beacon reaches the socket and is not reported.
    Seen seen = new Seen();
    Discovery d = open("kit", "kit-token-0123456789abcdef");
    d.start(new DiscoveredPeer("node-a", "127.0.0.1", 7001), seen);
    try (DatagramSocket s = new DatagramSocket()) {
      for (int i = 0; i < 5; i++) {
        s.send(new DatagramPacket(forged, forged.length, InetAddress.getLoopbackAddress(), port));
        s.send(new DatagramPacket(garbage, garbage.length, InetAddress.getLoopbackAddress(), port));
      }
      s.send(new DatagramPacket(good, good.length, InetAddress.getLoopbackAddress(), port));
    }
    org.awaitility.Awaitility.await().atMost(PATIENCE).until(() -> seen.peers.containsKey("node-x"));
    assertThat(seen.peers).containsOnlyKeys("node-x");
    d.close();
  }
}
