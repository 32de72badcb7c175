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
    final Map<String, String> labels = new LinkedHashMap<>();
    double cpus;
    long memoryBytes;
    String runtime;
    String store;
    final List<HivePlugin> plugins = new ArrayList<>();
    Clock clock = Clock.systemUTC();
    final Map<String, String> settings = new LinkedHashMap<>();

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

    private static String checkPluginName(String field, String name) {
      if (name == null || name.isBlank()) {
        throw new InvalidSpecException(field, "missing; give a provider name");
      }
      return name.trim();
    }
  }
}
