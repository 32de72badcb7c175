package dev.hive.backend.podman;

import dev.hive.api.UnavailableException;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadRuntimeProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Provides the {@code podman} runtime. The socket is {@code hive.podman.socket}, else {@code
 * CONTAINER_HOST} ({@code unix://...}), else {@code /run/podman/podman.sock} for root and {@code
 * $XDG_RUNTIME_DIR/podman/podman.sock} rootless. Settings: {@code hive.podman.timeout} (per API
 * call, default 60s), {@code hive.podman.watch} (how often exits and HEALTHCHECKs are looked at,
 * default 500ms).
 */
public final class PodmanRuntimeProvider implements WorkloadRuntimeProvider {
  @Override
  public String name() {
    return "podman";
  }

  /** Below {@code process}: a node runs commands by default and images where asked to. */
  @Override
  public int priority() {
    return 5;
  }

  @Override
  public boolean isApplicable() {
    return Files.exists(socket(null));
  }

  @Override
  public String notApplicableReason() {
    return "no podman socket at " + socket(null) + "; start it with `podman system service --time=0 unix://" + socket(null) + "`";
  }

  @Override
  public WorkloadRuntime create(ProviderConfig config) {
    Path socket = socket(config);
    if (!Files.exists(socket)) {
      throw new UnavailableException("no podman socket at " + socket + "; start it with `podman system service --time=0 unix://" + socket + "`");
    }
    LibpodClient client = new LibpodClient(socket, config.duration("hive.podman.timeout", Duration.ofSeconds(60)));
    LibpodClient.Reply ping;
    try {
      ping = client.get(client.url("_ping").build());
    } catch (UnavailableException e) {
      client.close();
      throw e;
    }
    if (!ping.ok()) {
      client.close();
      throw new UnavailableException("podman at unix://" + socket + " answered its ping with " + ping.status() + ": " + ping.text());
    }
    return new PodmanRuntime(client, config.nodeId(), config.duration("hive.podman.watch", Duration.ofMillis(500)));
  }

  static Path socket(ProviderConfig config) {
    String configured = config == null ? null : config.setting("hive.podman.socket").orElse(null);
    if (configured == null) {
      String host = System.getenv("CONTAINER_HOST");
      if (host != null && host.startsWith("unix://")) {
        configured = host.substring("unix://".length());
      }
    }
    if (configured != null) {
      return Path.of(configured.startsWith("unix://") ? configured.substring("unix://".length()) : configured);
    }
    String xdg = System.getenv("XDG_RUNTIME_DIR");
    boolean root = "root".equals(System.getProperty("user.name"));
    return !root && xdg != null ? Path.of(xdg, "podman", "podman.sock") : Path.of("/run/podman/podman.sock");
  }
}
