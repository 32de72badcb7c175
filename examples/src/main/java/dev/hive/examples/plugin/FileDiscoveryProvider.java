package dev.hive.examples.plugin;

import dev.hive.api.UnavailableException;
import dev.hive.spi.Discovery;
import dev.hive.spi.DiscoveryProvider;
import dev.hive.spi.ProviderConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The worked example of a plugin: discovery {@code file}, registered in {@code
 * META-INF/services/dev.hive.spi.DiscoveryProvider} of its own jar ({@code
 * examples/target/examples-*-file-discovery.jar}) and tested by {@code
 * FileDiscoveryCompatibilityTest}, which extends the kit. Use it with {@code hive daemon
 * --discovery file --setting hive.file-discovery.dir=/shared/dir --token T}.
 */
public final class FileDiscoveryProvider implements DiscoveryProvider {
  @Override
  public String name() {
    return "file";
  }

  @Override
  public int priority() {
    return 5;
  }

  @Override
  public boolean isApplicable() {
    return true;
  }

  @Override
  public Discovery create(ProviderConfig config) {
    String token = config.setting(Discovery.TOKEN_SETTING)
        .orElseThrow(() -> new UnavailableException("file discovery needs the join token: give every node the same --token"));
    Path dir = Path.of(config.setting("hive.file-discovery.dir")
        .orElseThrow(() -> new UnavailableException("file discovery needs a directory every node can write: set hive.file-discovery.dir")));
    Duration poll = config.duration("hive.file-discovery.poll", Duration.ofMillis(500));
    return new FileDiscovery(dir.resolve(config.clusterName() + ".peers"), config.clusterName(), token, poll.toMillis());
  }
}
