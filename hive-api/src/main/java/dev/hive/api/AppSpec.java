package dev.hive.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What an app is: its name, what it runs (a command or an image), on which runtime, how many
 * replicas, its ports, environment, resources, health check and restart policy. Immutable; made
 * by {@link #builder(String)}, whose setters validate their argument at once and whose {@link
 * Builder#build()} checks the whole.
 *
 * <pre>{@code
 * AppSpec web = AppSpec.builder("web")
 *     .command("python3 -m http.server $PORT")
 *     .port(8080)
 *     .replicas(3)
 *     .healthCheck(HealthCheck.http("/"))
 *     .build();
 * }</pre>
 */
public final class AppSpec {
  /** Most replicas one app may ask for. */
  public static final int MAX_REPLICAS = 10_000;

  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?");
  private static final Pattern ENV_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern RUNTIME = Pattern.compile("[a-z][a-z0-9-]{0,31}");
  private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9./_-]{0,62}[A-Za-z0-9])?");
  private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?");
  private static final Pattern TOLERATION = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9./_-]{0,62}[A-Za-z0-9])?(=[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?)?");

  /** An image reference as Docker's distribution grammar defines it. */
  private static final Pattern IMAGE;

  static {
    String domainPart = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    String domain = domainPart + "(?:\\." + domainPart + ")*(?::[0-9]+)?";
    String pathPart = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
    String tag = "[\\w][\\w.-]{0,127}";
    String digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    IMAGE = Pattern.compile("(?:" + domain + "/)?" + pathPart + "(?:/" + pathPart + ")*(?::" + tag + ")?(?:@" + digest + ")?");
  }

  /** Failures in a row on one node before a slot moves, unless the spec says otherwise. */
  public static final int DEFAULT_RESTART_LIMIT = 5;

  private final String name;
  private final String command;
  private final String image;
  private final String runtime;
  private final int replicas;
  private final double cpus;
  private final long memoryBytes;
  private final List<PortSpec> ports;
  private final Map<String, String> env;
  private final HealthCheck healthCheck;
  private final RestartPolicy restartPolicy;
  private final int restartLimit;
  private final boolean stateful;
  private final PlacementStrategy strategy;
  private final boolean antiAffinity;
  private final Map<String, String> constraints;
  private final java.util.SortedSet<String> tolerations;
  private final List<String> entrypoint;
  private final List<String> args;
  private final Map<String, String> labels;
  private final String service;
  private final int servicePort;

  private AppSpec(Builder b) {
    this.name = b.name;
    this.command = b.command;
    this.image = b.image;
    this.runtime = b.runtime;
    this.replicas = b.replicas;
    this.cpus = b.cpus;
    this.memoryBytes = b.memoryBytes;
    this.ports = List.copyOf(b.ports);
    this.env = Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
    this.healthCheck = b.healthCheck;
    this.restartPolicy = b.restartPolicy;
    this.restartLimit = b.restartLimit;
    this.stateful = b.stateful;
    this.strategy = b.strategy;
    this.antiAffinity = b.antiAffinity;
    this.constraints = Collections.unmodifiableMap(new java.util.TreeMap<>(b.constraints));
    this.tolerations = Collections.unmodifiableSortedSet(new java.util.TreeSet<>(b.tolerations));
    this.entrypoint = b.entrypoint;
    this.args = b.args;
    this.labels = Collections.unmodifiableMap(new java.util.TreeMap<>(b.labels));
    this.service = b.service;
    this.servicePort = b.servicePort;
  }

  /**
   * Starts a spec for the app {@code name}.
   *
   * @throws InvalidSpecException if the name is not a DNS label of 1-40 lowercase letters, digits
   *     and '-'
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** Returns a builder holding this spec's values, to derive a changed spec. */
  public Builder toBuilder() {
    Builder b = new Builder(name);
    b.command = command;
    b.image = image;
    b.runtime = runtime;
    b.replicas = replicas;
    b.cpus = cpus;
    b.memoryBytes = memoryBytes;
    b.ports.addAll(ports);
    b.env.putAll(env);
    b.healthCheck = healthCheck;
    b.restartPolicy = restartPolicy;
    b.restartLimit = restartLimit;
    b.stateful = stateful;
    b.strategy = strategy;
    b.antiAffinity = antiAffinity;
    b.constraints.putAll(constraints);
    b.tolerations.addAll(tolerations);
    b.entrypoint = entrypoint;
    b.args = args;
    b.labels.putAll(labels);
    b.service = service;
    b.servicePort = servicePort;
    return b;
  }

  /** Returns the app's name, unique in the cluster. */
  public String name() {
    return name;
  }

  /**
   * Returns the shell command: run by a process runtime, or inside the image by a container
   * runtime ({@code /bin/sh -c}, replacing the image's entrypoint and CMD); or null.
   */
  public String command() {
    return command;
  }

  /** Returns the container image, or null when the app runs a command on the host. */
  public String image() {
    return image;
  }

  /** Returns the runtime's name, or null for the node's default runtime. */
  public String runtime() {
    return runtime;
  }

  /** Returns the desired number of instances. */
  public int replicas() {
    return replicas;
  }

  /** Returns the CPU limit per instance in cores, 0 for none. */
  public double cpus() {
    return cpus;
  }

  /** Returns the memory limit per instance in bytes, 0 for none. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** Returns the declared ports, in order; the first is {@code PORT}. */
  public List<PortSpec> ports() {
    return ports;
  }

  /** Returns the environment given to every instance. */
  public Map<String, String> env() {
    return env;
  }

  /** Returns the health check, or null when the app has none. */
  public HealthCheck healthCheck() {
    return healthCheck;
  }

  /** Returns the restart policy. */
  public RestartPolicy restartPolicy() {
    return restartPolicy;
  }

  /**
   * Returns how many failures in a row an instance may have on one node before its slot is placed
   * on another node.
   */
  public int restartLimit() {
    return restartLimit;
  }

  /**
   * Returns true for a stateful app: instances named by ordinal ({@code db-0}), a volume per
   * ordinal, started in ordinal order, replaced one at a time, and never more than a minority of
   * ordinals down by Hive's own action.
   */
  public boolean stateful() {
    return stateful;
  }

  /** Returns how nodes are ranked for this app's replicas. */
  public PlacementStrategy strategy() {
    return strategy;
  }

  /** Returns true when no two replicas of this app may run on one node. */
  public boolean antiAffinity() {
    return antiAffinity;
  }

  /** Returns the node labels a node must have (key to value) to run a replica. */
  public Map<String, String> constraints() {
    return constraints;
  }

  /** Returns the node taints ({@code key=value}, or {@code key} for any value) this app tolerates. */
  public java.util.SortedSet<String> tolerations() {
    return tolerations;
  }

  /** Returns the program replacing the image's entrypoint (exec form, no shell), or null to keep it. */
  public List<String> entrypoint() {
    return entrypoint;
  }

  /** Returns the arguments replacing the image's CMD (exec form), or null to keep them. */
  public List<String> args() {
    return args;
  }

  /** Returns the app's own labels (e.g. a Kubernetes manifest's), which services select by. */
  public Map<String, String> labels() {
    return labels;
  }

  /** Returns the service name the app is found by, or null when it has none. */
  public String service() {
    return service;
  }

  /** Returns the port its service listens on, 0 for the app's first port. */
  public int servicePort() {
    return servicePort;
  }

  /** Returns the name of the instance of {@code ordinal} when the app is stateful ({@code db-1}). */
  public String ordinalName(int ordinal) {
    return name + "-" + ordinal;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof AppSpec)) {
      return false;
    }
    AppSpec s = (AppSpec) o;
    return name.equals(s.name)
        && Objects.equals(command, s.command)
        && Objects.equals(image, s.image)
        && Objects.equals(runtime, s.runtime)
        && replicas == s.replicas
        && Double.compare(cpus, s.cpus) == 0
        && memoryBytes == s.memoryBytes
        && ports.equals(s.ports)
        && env.equals(s.env)
        && Objects.equals(healthCheck, s.healthCheck)
        && restartPolicy == s.restartPolicy
        && restartLimit == s.restartLimit
        && stateful == s.stateful
        && strategy == s.strategy
        && antiAffinity == s.antiAffinity
        && constraints.equals(s.constraints)
        && tolerations.equals(s.tolerations)
        && Objects.equals(entrypoint, s.entrypoint)
        && Objects.equals(args, s.args)
        && labels.equals(s.labels)
        && Objects.equals(service, s.service)
        && servicePort == s.servicePort;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, command, image, runtime, replicas, cpus, memoryBytes, ports, env, healthCheck, restartPolicy, restartLimit, stateful, strategy,
        antiAffinity, constraints, tolerations, entrypoint, args, labels, service, servicePort);
  }

  @Override
  public String toString() {
    return "AppSpec{" + name + ", " + (command != null ? "command=" + command : "image=" + image) + ", replicas=" + replicas + "}";
  }

  /** Builds an {@link AppSpec}; every setter checks its argument and names the field at fault. */
  public static final class Builder {
    private final String name;
    private String command;
    private String image;
    private String runtime;
    private int replicas = 1;
    private double cpus;
    private long memoryBytes;
    private final List<PortSpec> ports = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private HealthCheck healthCheck;
    private RestartPolicy restartPolicy = RestartPolicy.ALWAYS;
    private int restartLimit = DEFAULT_RESTART_LIMIT;
    private boolean stateful;
    private PlacementStrategy strategy = PlacementStrategy.BINPACK;
    private boolean antiAffinity;
    private final Map<String, String> constraints = new java.util.TreeMap<>();
    private final java.util.Set<String> tolerations = new java.util.TreeSet<>();
    private List<String> entrypoint;
    private List<String> args;
    private final Map<String, String> labels = new java.util.TreeMap<>();
    private String service;
    private int servicePort;

    private Builder(String name) {
      if (name == null || name.isBlank()) {
        throw new InvalidSpecException("name", "an app needs a name; use 1-40 lowercase letters, digits and '-'");
      }
      if (!NAME.matcher(name).matches()) {
        throw new InvalidSpecException(
            "name", "'" + name + "' is not a valid app name; use 1-40 lowercase letters, digits and '-', not starting or ending with '-'");
      }
      this.name = name;
    }

    /**
     * Runs {@code command} through {@code /bin/sh -c}; {@code $PORT} and the app's env are set.
     *
     * @throws InvalidSpecException if the command is blank
     */
    public Builder command(String command) {
      if (command == null || command.isBlank()) {
        throw new InvalidSpecException("command", "the command is empty; give the program and its arguments");
      }
      if (command.indexOf('\0') >= 0) {
        throw new InvalidSpecException("command", "the command holds a NUL character");
      }
      this.command = command.strip();
      return this;
    }

    /**
     * Runs the container image {@code image} (on a container runtime).
     *
     * @throws InvalidSpecException if it is not an image reference ({@code [registry/]name[:tag][@digest]})
     */
    public Builder image(String image) {
      if (image == null || image.isBlank() || image.length() > 255 || !IMAGE.matcher(image).matches()) {
        throw new InvalidSpecException("image", "'" + image + "' is not a valid image reference: [registry[:port]/]name[:tag][@digest], with a lowercase "
            + "name, e.g. localhost/busybox:latest");
      }
      this.image = image;
      return this;
    }

    /**
     * Names the runtime that runs the instances ({@code process}, or a plugin's name).
     *
     * @throws InvalidSpecException if the name is not a runtime name
     */
    public Builder runtime(String runtime) {
      if (runtime == null || !RUNTIME.matcher(runtime).matches()) {
        throw new InvalidSpecException("runtime", "'" + runtime + "' is not a runtime name such as process, docker or podman");
      }
      this.runtime = runtime;
      return this;
    }

    /**
     * Sets the desired number of instances.
     *
     * @throws InvalidSpecException if {@code replicas} is negative or over {@value #MAX_REPLICAS}
     */
    public Builder replicas(int replicas) {
      this.replicas = checkReplicas(replicas);
      return this;
    }

    /**
     * Limits each instance to {@code cpus} cores (0 for no limit).
     *
     * @throws InvalidSpecException if negative, not finite, or over 1024
     */
    public Builder cpus(double cpus) {
      if (!(cpus >= 0 && cpus <= 1024)) {
        throw new InvalidSpecException("cpus", cpus + " is not a CPU count; use 0 (no limit) to 1024, e.g. 0.5");
      }
      this.cpus = cpus;
      return this;
    }

    /**
     * Limits each instance to {@code bytes} of memory (0 for no limit).
     *
     * @throws InvalidSpecException if negative or non-zero and under 4 MiB
     */
    public Builder memoryBytes(long bytes) {
      if (bytes < 0 || (bytes > 0 && bytes < 4L * 1024 * 1024)) {
        throw new InvalidSpecException("memory", bytes + " bytes is too small; use 0 (no limit) or at least 4M");
      }
      this.memoryBytes = bytes;
      return this;
    }

    /**
     * Declares a port named by its number.
     *
     * @throws InvalidSpecException if out of range or declared twice
     */
    public Builder port(int port) {
      return port(PortSpec.of(port));
    }

    /**
     * Declares a port.
     *
     * @throws InvalidSpecException if its name is declared twice
     */
    public Builder port(PortSpec port) {
      Objects.requireNonNull(port, "port");
      for (PortSpec p : ports) {
        if (p.name().equals(port.name())) {
          throw new InvalidSpecException("port", "'" + port.name() + "' is declared twice");
        }
      }
      ports.add(port);
      return this;
    }

    /**
     * Sets one environment variable.
     *
     * @throws InvalidSpecException if the key is not a shell variable name or starts with {@code
     *     PORT} or {@code HIVE_} (Hive sets those)
     */
    public Builder env(String key, String value) {
      if (key == null || !ENV_KEY.matcher(key).matches()) {
        throw new InvalidSpecException("env", "'" + key + "' is not a variable name; use letters, digits and '_'");
      }
      if (key.equals("PORT") || key.startsWith("PORT_") || key.startsWith("HIVE_")) {
        throw new InvalidSpecException("env", "'" + key + "' is set by Hive; choose another name");
      }
      if (value == null || value.indexOf('\0') >= 0) {
        throw new InvalidSpecException("env", "the value of '" + key + "' is missing or holds a NUL character");
      }
      env.put(key, value);
      return this;
    }

    /** Sets the health check, or removes it with null. */
    public Builder healthCheck(HealthCheck healthCheck) {
      this.healthCheck = healthCheck;
      return this;
    }

    /**
     * Sets the restart policy.
     *
     * @throws InvalidSpecException if null
     */
    public Builder restartPolicy(RestartPolicy policy) {
      if (policy == null) {
        throw new InvalidSpecException("restart", "missing; use always, on-failure or never");
      }
      this.restartPolicy = policy;
      return this;
    }

    /**
     * Sets how many failures in a row an instance may have on one node before its slot moves to
     * another node (default {@value AppSpec#DEFAULT_RESTART_LIMIT}).
     *
     * @throws InvalidSpecException if not in 1..1000
     */
    public Builder restartLimit(int limit) {
      if (limit < 1 || limit > 1000) {
        throw new InvalidSpecException("restartLimit", limit + " is out of range; use 1..1000");
      }
      this.restartLimit = limit;
      return this;
    }

    /** Makes the app stateful (ordinal names, a volume per ordinal, quorum-safe replacement). */
    public Builder stateful(boolean stateful) {
      this.stateful = stateful;
      return this;
    }

    /**
     * Sets how nodes are ranked for the replicas (default binpack).
     *
     * @throws InvalidSpecException if null
     */
    public Builder strategy(PlacementStrategy strategy) {
      if (strategy == null) {
        throw new InvalidSpecException("strategy", "missing; use binpack or spread");
      }
      this.strategy = strategy;
      return this;
    }

    /** When true, no two replicas of the app run on one node. */
    public Builder antiAffinity(boolean antiAffinity) {
      this.antiAffinity = antiAffinity;
      return this;
    }

    /**
     * Requires nodes to carry the label {@code key=value}.
     *
     * @throws InvalidSpecException if the key or value is not a label key or value
     */
    public Builder constraint(String key, String value) {
      if (key == null || !LABEL_KEY.matcher(key).matches()) {
        throw new InvalidSpecException("constraint", "label key '" + key + "' must be 1-64 letters, digits, '.', '/', '_' or '-'");
      }
      if (value == null || !(value.isEmpty() || LABEL_VALUE.matcher(value).matches())) {
        throw new InvalidSpecException("constraint", "label value '" + value + "' of '" + key + "' must be up to 64 letters, digits, '.', '_' or '-'");
      }
      constraints.put(key, value);
      return this;
    }

    /**
     * Parses and adds a constraint written {@code key=value}.
     *
     * @throws InvalidSpecException if there is no '=' or the parts are not a label
     */
    public Builder constraint(String keyEqualsValue) {
      int eq = keyEqualsValue == null ? -1 : keyEqualsValue.indexOf('=');
      if (eq <= 0) {
        throw new InvalidSpecException("constraint", "'" + keyEqualsValue + "' is not label=value, e.g. zone=a");
      }
      return constraint(keyEqualsValue.substring(0, eq), keyEqualsValue.substring(eq + 1));
    }

    /**
     * Replaces the image's entrypoint by {@code entrypoint}, run without a shell (a Kubernetes
     * container's {@code command}).
     *
     * @throws InvalidSpecException if it is empty or holds a NUL character
     */
    public Builder entrypoint(List<String> entrypoint) {
      this.entrypoint = argv("entrypoint", entrypoint);
      return this;
    }

    /**
     * Replaces the image's CMD by {@code args} (a Kubernetes container's {@code args}).
     *
     * @throws InvalidSpecException if it holds a NUL character
     */
    public Builder args(List<String> args) {
      this.args = argv("args", args);
      return this;
    }

    private static List<String> argv(String field, List<String> words) {
      if (words == null || (field.equals("entrypoint") && words.isEmpty())) {
        throw new InvalidSpecException(field, "give the program and its arguments as a list");
      }
      for (String w : words) {
        if (w == null || w.indexOf('\0') >= 0) {
          throw new InvalidSpecException(field, "an argument is null or holds a NUL character");
        }
      }
      return List.copyOf(words);
    }

    /**
     * Gives the app the label {@code key=value} (services select apps by label).
     *
     * @throws InvalidSpecException if the key or value is not a label key or value
     */
    public Builder label(String key, String value) {
      if (key == null || !LABEL_KEY.matcher(key).matches()) {
        throw new InvalidSpecException("label", "label key '" + key + "' must be 1-64 letters, digits, '.', '/', '_' or '-'");
      }
      if (value == null || !(value.isEmpty() || LABEL_VALUE.matcher(value).matches())) {
        throw new InvalidSpecException("label", "label value '" + value + "' of '" + key + "' must be up to 64 letters, digits, '.', '_' or '-'");
      }
      labels.put(key, value);
      return this;
    }

    /**
     * Makes the app findable as the service {@code name}, on {@code port} (0: the app's first port).
     *
     * @throws InvalidSpecException if the name is not a DNS label or the port is out of range
     */
    public Builder service(String name, int port) {
      if (name == null || !NAME.matcher(name).matches()) {
        String hint = name != null && name.contains(".")
            ? "; give one DNS label (web for web.hive): the domain is the node's, set with hive daemon --dns-domain"
            : "; a service name is a DNS label: 1-40 lowercase letters, digits and '-', not starting or ending with '-'";
        throw new InvalidSpecException("service", "'" + name + "' is not a service name" + hint);
      }
      if (port < 0 || port > 65535) {
        throw new InvalidSpecException("servicePort", port + " is not a port; use 1-65535, or 0 for the app's first port");
      }
      this.service = name;
      this.servicePort = port;
      return this;
    }

    /**
     * Tolerates nodes tainted {@code key=value} ({@code key} alone tolerates any value).
     *
     * @throws InvalidSpecException if it is not such a toleration
     */
    public Builder toleration(String toleration) {
      if (toleration == null || !TOLERATION.matcher(toleration).matches()) {
        throw new InvalidSpecException("toleration", "'" + toleration + "' is not key or key=value, e.g. dedicated=db");
      }
      tolerations.add(toleration);
      return this;
    }

    /**
     * Checks the whole and builds the spec.
     *
     * @throws InvalidSpecException if neither command nor image is set, an entrypoint or args come
     *     without an image or with a command, or a health check or a service needs a port and none
     *     is declared
     */
    public AppSpec build() {
      if (command == null && image == null) {
        throw new InvalidSpecException("command", "an app runs a command, an image, or a command in an image; give --command or --image");
      }
      if (image == null && (entrypoint != null || args != null)) {
        throw new InvalidSpecException("args", "an entrypoint or args replace an image's; give the image too");
      }
      if (command != null && (entrypoint != null || args != null)) {
        throw new InvalidSpecException("command", "a shell command replaces the image's entrypoint and CMD; give it or an entrypoint/args, not both");
      }
      java.util.Set<Integer> hostPorts = new java.util.HashSet<>();
      for (PortSpec p : ports) {
        if (p.hostPort() > 0 && !hostPorts.add(p.hostPort())) {
          throw new InvalidSpecException("port", "host port " + p.hostPort() + " is given to two ports");
        }
      }
      if (service != null && ports.isEmpty()) {
        throw new InvalidSpecException("port", "service '" + service + "' needs a port to send connections to; declare one with --port");
      }
      if (healthCheck != null && healthCheck.type() != HealthCheck.Type.EXEC && ports.isEmpty()) {
        throw new InvalidSpecException("port", "a " + healthCheck.type() + " health check needs a port; declare one with --port");
      }
      return new AppSpec(this);
    }

    static int checkReplicas(int replicas) {
      if (replicas < 0 || replicas > MAX_REPLICAS) {
        throw new InvalidSpecException("replicas", replicas + " is out of range; use 0.." + MAX_REPLICAS);
      }
      return replicas;
    }
  }

  /**
   * Checks a replica count as the builder does.
   *
   * @throws InvalidSpecException if {@code replicas} is negative or over {@value #MAX_REPLICAS}
   */
  public static int checkReplicas(int replicas) {
    return Builder.checkReplicas(replicas);
  }
}
