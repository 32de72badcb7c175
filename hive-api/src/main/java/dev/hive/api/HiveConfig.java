package dev.hive.api;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The validated settings of one node, made by {@link Hive.Builder}. Immutable. The engine reads
 * it; applications use the builder.
 */
public final class HiveConfig {
  private final String clusterName;
  private final String nodeName;
  private final Path dataDir;
  private final String httpHost;
  private final int httpPort;
  private final Path httpCertificate;
  private final Path httpKey;
  private final Map<String, String> labels;
  private final java.util.Set<String> taints;
  private final double cpus;
  private final long memoryBytes;
  private final String runtime;
  private final String vmRuntime;
  private final String store;
  private final List<HivePlugin> plugins;
  private final Clock clock;
  private final Map<String, String> settings;
  private final int port;
  private final String bindAddress;
  private final String advertiseAddress;
  private final List<String> seeds;
  private final String joinToken;
  private final String discovery;
  private final String transport;

  HiveConfig(Hive.Builder b) {
    this.port = b.port;
    this.bindAddress = b.bindAddress;
    this.advertiseAddress = b.advertiseAddress;
    this.seeds = List.copyOf(b.seeds);
    this.joinToken = b.joinToken;
    this.discovery = b.discovery;
    this.transport = b.transport == null ? "tcp" : b.transport;
    this.clusterName = b.clusterName;
    this.nodeName = b.nodeName;
    this.dataDir = b.dataDir;
    this.httpHost = b.httpHost;
    this.httpPort = b.httpPort;
    this.httpCertificate = b.httpCertificate;
    this.httpKey = b.httpKey;
    this.labels = Map.copyOf(b.labels);
    this.taints = java.util.Set.copyOf(b.taints);
    this.cpus = b.cpus;
    this.memoryBytes = b.memoryBytes;
    this.runtime = b.runtime;
    this.vmRuntime = b.vmRuntime;
    this.store = b.store;
    this.plugins = List.copyOf(b.plugins);
    this.clock = b.clock;
    this.settings = Map.copyOf(b.settings);
  }

  /** Returns the cluster's name. */
  public String clusterName() {
    return clusterName;
  }

  /** Returns the node's name, if one was set (otherwise the host name is used). */
  public Optional<String> nodeName() {
    return Optional.ofNullable(nodeName);
  }

  /** Returns the directory that holds the node's state, logs and workloads' files. */
  public Path dataDir() {
    return dataDir;
  }

  /** Returns the address the REST API binds. */
  public String httpHost() {
    return httpHost;
  }

  /** The API's own certificate (PEM) for HTTPS off loopback, if one was given. */
  public java.util.Optional<Path> httpCertificate() {
    return java.util.Optional.ofNullable(httpCertificate);
  }

  /** The key of {@link #httpCertificate()} (PEM). */
  public java.util.Optional<Path> httpKey() {
    return java.util.Optional.ofNullable(httpKey);
  }

  /** Returns the REST API port: -1 for no API, 0 for any free port. */
  public int httpPort() {
    return httpPort;
  }

  /** Returns the node's taints, each {@code key=value}. */
  public java.util.Set<String> taints() {
    return taints;
  }

  /** Returns the node's labels. */
  public Map<String, String> labels() {
    return labels;
  }

  /** Returns the CPU cores offered to workloads, 0 to detect them. */
  public double cpus() {
    return cpus;
  }

  /** Returns the memory offered to workloads, 0 to detect it. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** Returns the default runtime's name, if one was chosen; otherwise providers are tried by priority. */
  public Optional<String> runtime() {
    return Optional.ofNullable(runtime);
  }

  /** Returns the VM runtime's name, if the node has one. */
  public Optional<String> vmRuntime() {
    return Optional.ofNullable(vmRuntime);
  }

  /** Returns the store's name, if one was chosen; otherwise providers are tried by priority. */
  public Optional<String> store() {
    return Optional.ofNullable(store);
  }

  /** Returns the plugin providers handed over directly, which take precedence over found ones. */
  public List<HivePlugin> plugins() {
    return plugins;
  }

  /** Returns the clock Hive reads time from. */
  public Clock clock() {
    return clock;
  }

  /** Returns true when this node is a cluster member (it was given a port). */
  public boolean clustered() {
    return port >= 0;
  }

  /** Returns the cluster port (consensus uses the next one), or -1 for a node that runs alone. */
  public int port() {
    return port;
  }

  /** Returns the address the cluster and consensus listeners bind. */
  public String bindAddress() {
    return bindAddress;
  }

  /** Returns the address peers reach this node at, if set. */
  public Optional<String> advertiseAddress() {
    return Optional.ofNullable(advertiseAddress);
  }

  /** Returns the seeds, as host[:port]. */
  public List<String> seeds() {
    return seeds;
  }

  /** Returns the join token, if given. */
  public Optional<String> joinToken() {
    return Optional.ofNullable(joinToken);
  }

  /** Returns the discovery plugin's name, if chosen. */
  public Optional<String> discovery() {
    return Optional.ofNullable(discovery);
  }

  /** Returns the transport's name: {@code tcp} unless another was chosen. */
  public String transport() {
    return transport;
  }

  /** Returns free-form settings for plugins, such as {@code hive.process.grace=5s}. */
  public Map<String, String> settings() {
    return settings;
  }
}
