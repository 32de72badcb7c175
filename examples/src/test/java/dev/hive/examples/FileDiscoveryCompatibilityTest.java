package dev.hive.examples;

import dev.hive.examples.plugin.FileDiscoveryProvider;
import dev.hive.spi.Discovery;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.kit.DiscoveryCompatibilityKit;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

/** The plugin sample passes the discovery kit: this is all a plugin author's test needs. */
class FileDiscoveryCompatibilityTest extends DiscoveryCompatibilityKit {
  @TempDir Path shared;

  @Override
  protected Discovery open(String cluster, String token) {
    return new FileDiscoveryProvider().create(new ProviderConfig(shared, cluster, "kit", Clock.systemUTC(),
        Map.of(Discovery.TOKEN_SETTING, token, "hive.file-discovery.dir", shared.toString(), "hive.file-discovery.poll", "100ms")));
  }
}
