package dev.hive.backend.docker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.core.RemoteApiVersion;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import dev.hive.api.UnavailableException;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadRuntimeProvider;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Provides the {@code docker} runtime. The daemon is {@code hive.docker.host}, else {@code
 * DOCKER_HOST}, else {@code unix:///var/run/docker.sock}. The API version is negotiated: the
 * daemon's own ({@code GET /version}), capped at the newest docker-java models ({@value #NEWEST})
 * and raised to the daemon's minimum (Docker 29 refuses clients older than 1.44). Settings: {@code
 * hive.docker.timeout} (per call, default 60s), {@code hive.docker.pull-timeout} (default 5m),
 * {@code hive.docker.watch} (default 500ms).
 */
public final class DockerRuntimeProvider implements WorkloadRuntimeProvider {
  static final String NEWEST = "1.44";

  @Override
  public String name() {
    return "docker";
  }

  /** Below {@code process}: a node runs commands by default and images where asked to. */
  @Override
  public int priority() {
    return 6;
  }

  @Override
  public boolean isApplicable() {
    String host = host(null);
    return !host.startsWith("unix://") || Files.exists(Path.of(host.substring("unix://".length())));
  }

  @Override
  public String notApplicableReason() {
    return "no docker socket at " + host(null) + "; start dockerd or set DOCKER_HOST";
  }

  @Override
  public WorkloadRuntime create(ProviderConfig config) {
    String host = host(config);
    Duration timeout = config.duration("hive.docker.timeout", Duration.ofSeconds(60));
    DockerHttpClient probe = http(host, timeout);
    String version;
    try (probe) {
      version = negotiate(host, probe);
    } catch (IOException e) {
      throw new UnavailableException("docker is not reachable at " + host + " (" + e.getMessage() + "); start dockerd or set DOCKER_HOST", e);
    }
    DefaultDockerClientConfig clientConfig = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).withApiVersion(version).build();
    DockerClient docker = DockerClientImpl.getInstance(clientConfig, http(host, timeout));
    return new DockerRuntime(docker, host, config.nodeId(), config.duration("hive.docker.watch", Duration.ofMillis(500)),
        config.duration("hive.docker.pull-timeout", Duration.ofMinutes(5)));
  }

  private static DockerHttpClient http(String host, Duration timeout) {
    return new ApacheDockerHttpClient.Builder().dockerHost(URI.create(host)).maxConnections(16)
        .connectionTimeout(Duration.ofSeconds(5)).responseTimeout(timeout).build();
  }

  /** Picks the API version to speak from the daemon's unversioned {@code /version}. */
  static String negotiate(String host, DockerHttpClient http) throws IOException {
    DockerHttpClient.Request request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.GET).path("/version").build();
    JsonNode version;
    try (DockerHttpClient.Response response = http.execute(request)) {
      if (response.getStatusCode() != 200) {
        throw new UnavailableException("docker at " + host + " answered /version with " + response.getStatusCode());
      }
      version = new ObjectMapper().readTree(response.getBody());
    } catch (RuntimeException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw e;
    }
    return choose(version.path("ApiVersion").asText(""), version.path("MinAPIVersion").asText(""));
  }

  /** The daemon's version capped at {@link #NEWEST}, but never below the daemon's minimum. */
  static String choose(String daemonVersion, String daemonMinimum) {
    if (daemonVersion.isEmpty()) {
      return NEWEST;
    }
    RemoteApiVersion newest = RemoteApiVersion.parseConfig(NEWEST);
    RemoteApiVersion daemon = RemoteApiVersion.parseConfig(daemonVersion);
    String chosen = daemon.isGreaterOrEqual(newest) ? NEWEST : daemonVersion;
    if (!daemonMinimum.isEmpty() && !RemoteApiVersion.parseConfig(chosen).isGreaterOrEqual(RemoteApiVersion.parseConfig(daemonMinimum))) {
      chosen = daemonMinimum;
    }
    return chosen;
  }

  static String host(ProviderConfig config) {
    String configured = config == null ? null : config.setting("hive.docker.host").orElse(null);
    if (configured == null) {
      configured = System.getenv("DOCKER_HOST");
    }
    return configured == null || configured.isBlank() ? "unix:///var/run/docker.sock" : configured;
  }
}
