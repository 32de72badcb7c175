package dev.hive.discovery.mdns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.kit.DiscoveryCompatibilityKit;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MdnsDiscoveryCompatibilityTest extends DiscoveryCompatibilityKit {
  @Override
  protected Discovery open(String cluster, String token) {
    return new MdnsDiscoveryProvider().create(new ProviderConfig(Path.of("."), cluster + "-" + getClass().getSimpleName(), "kit", Clock.systemUTC(),
        Map.of(Discovery.TOKEN_SETTING, token)));
  }

  @Test
  void theFastestKindOfInterfaceWinsAndVirtualBridgesOnlyWhenAsked() {
    assertThat(InterfaceChoice.rank("thunderbolt0", false)).isLessThan(InterfaceChoice.rank("eth0", false));
    assertThat(InterfaceChoice.rank("enp3s0", false)).isLessThan(InterfaceChoice.rank("wlan0", false));
    assertThat(InterfaceChoice.rank("docker0", false)).isEqualTo(Integer.MAX_VALUE);
    assertThat(InterfaceChoice.rank("virbr0", true)).isLessThan(Integer.MAX_VALUE);
    assertThat(InterfaceChoice.rank("lo", true)).isEqualTo(Integer.MAX_VALUE);
  }
}
