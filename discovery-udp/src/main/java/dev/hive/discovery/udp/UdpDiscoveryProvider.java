package dev.hive.discovery.udp;

import dev.hive.api.UnavailableException;
import dev.hive.spi.Discovery;
import dev.hive.spi.DiscoveryProvider;
import dev.hive.spi.ProviderConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Provides discovery {@code udp}. Settings: {@code hive.udp.port} (default 8901, Hivemind's),
 * {@code hive.udp.interval} (default 1s), {@code hive.udp.lost-after} (default 10s). Needs the
 * join token, which every node must be given.
 */
public final class UdpDiscoveryProvider implements DiscoveryProvider {
  /** Hivemind's discovery port. */
  public static final int DEFAULT_PORT = 8901;

  @Override
  public String name() {
    return "udp";
  }

  @Override
  public int priority() {
    return 20;
  }

  @Override
  public boolean isApplicable() {
    return true;
  }

  @Override
  public Discovery create(ProviderConfig config) {
    String token = config.setting(Discovery.TOKEN_SETTING)
        .orElseThrow(() -> new UnavailableException("udp discovery needs the join token: give every node the same --token"));
    int port;
    try {
      port = Integer.parseInt(config.setting("hive.udp.port").orElse(Integer.toString(DEFAULT_PORT)));
    } catch (NumberFormatException e) {
      throw new dev.hive.api.InvalidSpecException("hive.udp.port", "not a port number");
    }
    if (port < 1 || port > 65535) {
      throw new dev.hive.api.InvalidSpecException("hive.udp.port", port + " is out of range 1..65535");
    }
    return new UdpDiscovery(config.clusterName(), token.getBytes(StandardCharsets.UTF_8), port,
        config.duration("hive.udp.interval", Duration.ofSeconds(1)), config.duration("hive.udp.lost-after", Duration.ofSeconds(10)));
  }
}
