package dev.hive.api;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.regex.Pattern;

/**
 * The entry point: {@code Hive.builder()...start()} starts a node inside this process and returns
 * its {@link Cluster}.
 *
 * <pre>{@code
 * try (Cluster cluster = Hive.builder().dataDir(Path.of("/tmp/hive")).start()) {
 *   cluster.apps().deploy(AppSpec.builder("web").command("python3 -m http.server $PORT").port(8080).build());
 * }
 * }</pre>
 */
public final class Hive {
  private Hive() {}

  /** Returns a builder with the embedded defaults: data dir {@code ~/.hive}, no REST API. */
  public static Builder builder() {
    return new Builder();
  }

  /** Configures and starts a node. Each setter validates its argument. */
  public static final class Builder {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?");
    private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9./_-]{0,62}[A-Za-z0-9])?");

    String clusterName = "hive";
    String nodeName;
    Path dataDir = Path.of(System.getProperty("user.home"), ".hive");
    String httpHost = "127.0.0.1";
    int httpPort = -1;
    Path httpCertificate;
    Path httpKey;
    final Map<String, String> labels = new LinkedHashMap<>();
    final java.util.Set<String> taints = new java.util.TreeSet<>();
    double cpus;
    long memoryBytes;
    String runtime;
    String vmRuntime;
    String store;
    final List<HivePlugin> plugins = new ArrayList<>();
    Clock clock = Clock.systemUTC();
    final Map<String, String> settings = new LinkedHashMap<>();
    int port = -1;
    String bindAddress = "0.0.0.0";
    String advertiseAddress;
    final List<String> seeds = new ArrayList<>();
    String joinToken;
    String discovery;
    String transport;

    private Builder() {}

    /**
     * Names the cluster (default {@code hive}).
     *
     * @throws InvalidSpecException if not 1-64 letters, digits, '.', '_' or '-'
     */
    public Builder clusterName(String name) {
      this.clusterName = checkName("cluster-name", name);
      return this;
    }

    /**
     * Names this node (default: the host name).
     *
     * @throws InvalidSpecException if not 1-64 letters, digits, '.', '_' or '-'
     */
    public Builder nodeName(String name) {
      this.nodeName = checkName("node-name", name);
      return this;
    }

    /**
     * Sets the directory for the node's state (default {@code ~/.hive}).
     *
     * @throws InvalidSpecException if null
     */
    public Builder dataDir(Path dir) {
      if (dir == null) {
        throw new InvalidSpecException("data-dir", "missing; give a directory Hive may write to");
      }
      this.dataDir = dir.toAbsolutePath().normalize();
      return this;
    }

    /**
     * Serves the REST API on {@code port} of 127.0.0.1 (0 for any free port, -1 for none).
     *
     * @throws InvalidSpecException if outside -1..65535
     */
    public Builder httpPort(int port) {
      if (port < -1 || port > 65535) {
        throw new InvalidSpecException("http-port", port + " is out of range; use 1..65535, 0 for any free port or -1 for none");
      }
      this.httpPort = port;
      return this;
    }

    /**
     * Serves the REST API on {@code address} instead of 127.0.0.1. Off loopback it is HTTPS only,
     * with a certificate the cluster CA issues for the node's addresses (or the one given with
     * {@link #httpCertificate}), so the node must be in a cluster ({@link #port}) or be given one.
     *
     * @throws InvalidSpecException if it is not an IP address
     */
    public Builder httpBind(String address) {
      if (address == null || !(address.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") || address.contains(":"))) {
        throw new InvalidSpecException("http-bind", "'" + address + "' is not an IP address; use 127.0.0.1 (the default), 0.0.0.0 or one of this host's addresses");
      }
      checkHostPort("http-bind", address.contains(":") ? "[" + address + "]" : address);
      this.httpHost = address;
      return this;
    }

    /**
     * Serves the API off loopback with this certificate (PEM, the chain's leaf first) and key
     * (PEM, PKCS#8) instead of one from the cluster CA.
     *
     * @throws InvalidSpecException if a file is not readable
     */
    public Builder httpCertificate(Path certificatePem, Path keyPem) {
      for (Path p : new Path[] {certificatePem, keyPem}) {
        if (p == null || !java.nio.file.Files.isReadable(p)) {
          throw new InvalidSpecException("http-cert", p + " is not a readable file");
        }
      }
      this.httpCertificate = certificatePem;
      this.httpKey = keyPem;
      return this;
    }

    /**
     * Adds a node label, used by placement.
     *
     * @throws InvalidSpecException if the key or value is not 1-64 letters, digits, '.', '/', '_' or '-'
     */
    public Builder label(String key, String value) {
      if (key == null || !LABEL_KEY.matcher(key).matches()) {
        throw new InvalidSpecException("label", "key '" + key + "' must be 1-64 letters, digits, '.', '/', '_' or '-'");
      }
      if (value == null || !(value.isEmpty() || NAME.matcher(value).matches())) {
        throw new InvalidSpecException("label", "value '" + value + "' of '" + key + "' must be up to 64 letters, digits, '.', '_' or '-'");
      }
      labels.put(key, value);
      return this;
    }

    /**
     * Taints the node: only apps that tolerate {@code key=value} are placed on it. The
     * Kubernetes spelling {@code key=value:NoSchedule} is accepted; other effects are not.
     *
     * @throws InvalidSpecException if it is not {@code key=value[:NoSchedule]}
     */
    public Builder taint(String taint) {
      String t = taint == null ? null : taint.endsWith(":NoSchedule") ? taint.substring(0, taint.length() - ":NoSchedule".length()) : taint;
      int eq = t == null ? -1 : t.indexOf('=');
      if (eq <= 0 || !LABEL_KEY.matcher(t.substring(0, eq)).matches() || !NAME.matcher(t.substring(eq + 1)).matches()) {
        throw new InvalidSpecException("taint", "'" + taint + "' is not key=value[:NoSchedule], e.g. dedicated=db");
      }
      taints.add(t);
      return this;
    }

    /**
     * Overrides the CPU cores this node offers (default: detected).
     *
     * @throws InvalidSpecException if not positive
     */
    public Builder cpus(double cpus) {
      if (!(cpus > 0 && cpus <= 4096)) {
        throw new InvalidSpecException("cpus", cpus + " must be above 0 and at most 4096");
      }
      this.cpus = cpus;
      return this;
    }

    /**
     * Overrides the memory this node offers (default: detected).
     *
     * @throws InvalidSpecException if not positive
     */
    public Builder memoryBytes(long bytes) {
      if (bytes <= 0) {
        throw new InvalidSpecException("memory", bytes + " must be positive");
      }
      this.memoryBytes = bytes;
      return this;
    }

    /**
     * Chooses the default workload runtime by name (default: the applicable one of highest
     * priority; {@code process} on the embedded defaults).
     *
     * @throws InvalidSpecException if blank
     */
    public Builder runtime(String name) {
      this.runtime = checkPluginName("runtime", name);
      return this;
    }

    /**
     * Gives the node a VM runtime by name, e.g. {@code libvirt} (default: none; a node without one
     * runs no VMs). Its settings, such as {@code hive.libvirt.uri}, go through {@link #setting}.
     *
     * @throws InvalidSpecException if blank
     */
    public Builder vmRuntime(String name) {
      this.vmRuntime = checkPluginName("vm-runtime", name);
      return this;
    }

    /**
     * Chooses the store by name (default: {@code sqlite}).
     *
     * @throws InvalidSpecException if blank
     */
    public Builder store(String name) {
      this.store = checkPluginName("store", name);
      return this;
    }

    /**
     * Hands over a provider instance, which wins over providers of the same kind found on the
     * class path (Micrometer's "construct a registry directly").
     *
     * @throws InvalidSpecException if null
     */
    public Builder plugin(HivePlugin provider) {
      if (provider == null) {
        throw new InvalidSpecException("plugin", "missing; give a provider instance");
      }
      plugins.add(provider);
      return this;
    }

    /**
     * Sets the clock Hive reads time from (tests and simulations use a virtual one).
     *
     * @throws InvalidSpecException if null
     */
    public Builder clock(Clock clock) {
      if (clock == null) {
        throw new InvalidSpecException("clock", "missing");
      }
      this.clock = clock;
      return this;
    }

    /**
     * Makes this node a cluster member: it listens for other nodes on {@code port} (mutual TLS;
     * consensus on {@code port + 1}). Without it the node runs alone, with no network listener.
     *
     * @throws InvalidSpecException if outside 0..65534 (0 for any free port)
     */
    public Builder port(int port) {
      if (port < 0 || port > 65534) {
        throw new InvalidSpecException("port", port + " is out of range; use 1..65534 (the next port is taken for consensus), or 0 for any");
      }
      this.port = port;
      return this;
    }

    /**
     * Sets the address the cluster and consensus listeners bind (default {@code 0.0.0.0}).
     *
     * @throws InvalidSpecException if blank
     */
    public Builder bindAddress(String address) {
      if (address == null || address.isBlank()) {
        throw new InvalidSpecException("bind", "missing; give an IP address such as 0.0.0.0 or 10.0.0.5");
      }
      this.bindAddress = address.trim();
      return this;
    }

    /**
     * Sets the address other nodes reach this one at (default: the bind address, or this host's
     * first non-loopback address when binding 0.0.0.0).
     *
     * @throws InvalidSpecException if blank
     */
    public Builder advertiseAddress(String address) {
      if (address == null || address.isBlank()) {
        throw new InvalidSpecException("advertise", "missing; give the IP address peers should use");
      }
      this.advertiseAddress = address.trim();
      return this;
    }

    /**
     * Adds seed nodes to join through, as {@code host} or {@code host:port} (default port 7946).
     *
     * @throws InvalidSpecException if one is not host[:port]
     */
    public Builder seeds(List<String> hostPorts) {
      for (String seed : hostPorts) {
        checkHostPort("seeds", seed);
        seeds.add(seed.trim());
      }
      return this;
    }

    /**
     * Sets the join token: the secret that admits this node (printed by the first node; every node
     * may be given the same one).
     *
     * @throws InvalidSpecException if shorter than 16 characters or holding whitespace
     */
    public Builder joinToken(String token) {
      if (token == null || token.length() < 16 || token.chars().anyMatch(Character::isWhitespace)) {
        throw new InvalidSpecException("token", "a join token needs at least 16 characters and no spaces");
      }
      this.joinToken = token;
      return this;
    }

    /**
     * Chooses how this node finds others: {@code seeds} (default), {@code udp}, {@code mdns}, or a
     * plugin's name.
     *
     * @throws InvalidSpecException if blank
     */
    public Builder discovery(String name) {
      this.discovery = checkPluginName("discovery", name);
      return this;
    }

    /**
     * Chooses what carries this node's messages to the others: {@code tcp} (default: mutual TLS
     * with certificates from the cluster's CA) or a plugin's name, e.g. {@code libp2p}. Every node
     * of a cluster must use the same.
     *
     * @throws InvalidSpecException if blank
     */
    public Builder transport(String name) {
      this.transport = checkPluginName("transport", name);
      return this;
    }

    /**
     * Sets a free-form setting for the engine or a plugin, e.g. {@code hive.process.grace=5s}.
     *
     * @throws InvalidSpecException if the key is blank or the value null
     */
    public Builder setting(String key, String value) {
      if (key == null || key.isBlank() || value == null) {
        throw new InvalidSpecException("setting", "'" + key + "' needs a non-blank key and a value");
      }
      settings.put(key, value);
      return this;
    }

    /** Returns the settings made so far, validated. */
    public HiveConfig config() {
      return new HiveConfig(this);
    }

    /**
     * Starts the node.
     *
     * @throws UnavailableException if no engine is on the class path or a plugin cannot be had
     * @throws HiveException if the node cannot start; the message says why
     */
    public Cluster start() {
      HiveConfig config = config();
      ServiceLoader<HiveEngine> loader = ServiceLoader.load(HiveEngine.class, Hive.class.getClassLoader());
      Iterator<HiveEngine> it = loader.iterator();
      List<String> broken = new ArrayList<>();
      while (true) {
        HiveEngine engine;
        try {
          if (!it.hasNext()) {
            break;
          }
          engine = it.next();
        } catch (ServiceConfigurationError | LinkageError e) {
          broken.add(e.toString());
          continue;
        }
        return Objects.requireNonNull(engine.start(config), "engine returned no cluster");
      }
      throw new UnavailableException(
          "no Hive engine on the class path: add the dependency dev.hive:hive-core"
              + (broken.isEmpty() ? "" : " (broken engines: " + broken + ")"));
    }

    private static String checkName(String field, String name) {
      if (name == null || !NAME.matcher(name).matches()) {
        throw new InvalidSpecException(field, "'" + name + "' must be 1-64 letters, digits, '.', '_' or '-'");
      }
      return name;
    }

    private static final java.util.regex.Pattern HOST_NAME =
        java.util.regex.Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*");

    /**
     * Checks {@code host}, {@code host:port}, an IPv6 literal or {@code [v6]:port}: a host name of
     * letters, digits, '-' and '.', or an address, and a port in 1..65535.
     */
    static void checkHostPort(String field, String hostPort) {
      if (hostPort == null || hostPort.isBlank() || hostPort.chars().anyMatch(Character::isWhitespace)) {
        throw new InvalidSpecException(field, "'" + hostPort + "' is not host[:port]");
      }
      String host = hostPort;
      String port = null;
      if (hostPort.startsWith("[")) {
        int close = hostPort.indexOf(']');
        if (close < 0 || !(close == hostPort.length() - 1 || hostPort.charAt(close + 1) == ':')) {
          throw new InvalidSpecException(field, "'" + hostPort + "' is not [IPv6]:port");
        }
        host = hostPort.substring(1, close);
        port = close == hostPort.length() - 1 ? null : hostPort.substring(close + 2);
        checkIpv6(field, hostPort, host);
      } else if (hostPort.indexOf(':') >= 0 && hostPort.indexOf(':') != hostPort.lastIndexOf(':')) {
        checkIpv6(field, hostPort, hostPort);
        return;
      } else if (hostPort.indexOf(':') >= 0) {
        host = hostPort.substring(0, hostPort.indexOf(':'));
        port = hostPort.substring(hostPort.indexOf(':') + 1);
      }
      if (host.isEmpty()) {
        throw new InvalidSpecException(field, "'" + hostPort + "' has no host");
      }
      if (!hostPort.startsWith("[") && (host.length() > 253 || !HOST_NAME.matcher(host).matches())) {
        throw new InvalidSpecException(field, "'" + hostPort + "' is not host[:port]: a host is a name of letters, digits, '-' and '.', "
            + "or an address ([v6]:port for IPv6)");
      }
      if (port != null) {
        try {
          int p = Integer.parseInt(port);
          if (p < 1 || p > 65535) {
            throw new NumberFormatException();
          }
        } catch (NumberFormatException e) {
          throw new InvalidSpecException(field, "'" + hostPort + "' has no valid port; write host or host:port with a port in 1..65535");
        }
      }
    }

    private static void checkIpv6(String field, String hostPort, String literal) {
      // An address with ':' is parsed as a literal: no name is looked up.
      if (literal.isEmpty() || !literal.matches("[0-9A-Fa-f:.%a-zA-Z0-9]+")) {
        throw new InvalidSpecException(field, "'" + hostPort + "' is not an IPv6 address");
      }
      try {
        java.net.InetAddress.getByName(literal);
      } catch (java.net.UnknownHostException e) {
        throw new InvalidSpecException(field, "'" + hostPort + "' is not an IPv6 address; write [v6]:port, e.g. [::1]:7946");
      }
    }

    private static String checkPluginName(String field, String name) {
      if (name == null || name.isBlank()) {
        throw new InvalidSpecException(field, "missing; give a provider name");
      }
      return name.trim();
    }
  }
}
