package dev.hive.discovery.mdns;

import dev.hive.api.UnavailableException;
import dev.hive.spi.Discovery;
import dev.hive.spi.DiscoveryProvider;
import dev.hive.spi.ProviderConfig;
import java.net.InetAddress;
import java.net.SocketException;

/**
 * Provides discovery {@code mdns}. Settings: {@code hive.mdns.interface} (a name; default the
 * fastest kind up), {@code hive.mdns.include-virtual} (default false). Needs the join token.
 */
public final class MdnsDiscoveryProvider implements DiscoveryProvider {
  @Override
  public String name() {
    return "mdns";
  }

  @Override
  public int priority() {
    return 10;
  }

  @Override
  public boolean isApplicable() {
    return true;
  }

  @Override
  public Discovery create(ProviderConfig config) {
    String token = config.setting(Discovery.TOKEN_SETTING)
        .orElseThrow(() -> new UnavailableException("mdns discovery needs the join token: give every node the same --token"));
    String named = config.setting("hive.mdns.interface").orElse(null);
    boolean includeVirtual = Boolean.parseBoolean(config.setting("hive.mdns.include-virtual").orElse("false"));
    InetAddress address;
    try {
      address = InterfaceChoice.choose(named, includeVirtual).orElseThrow(() -> new UnavailableException(
          "mdns discovery found no multicast interface" + (named != null ? " named " + named : "") + " that is up with an IPv4 address"
              + (includeVirtual ? "" : "; virtual bridges are skipped unless hive.mdns.include-virtual=true")));
    } catch (SocketException e) {
      throw new UnavailableException("mdns discovery cannot list interfaces: " + e.getMessage(), e);
    }
    return new MdnsDiscovery(config.clusterName(), token, address);
  }
}
