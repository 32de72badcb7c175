package dev.hive.core.node;

import dev.hive.api.Cluster;
import dev.hive.api.HiveConfig;
import dev.hive.api.HiveEngine;
import dev.hive.api.HiveEvent;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.UnavailableException;
import dev.hive.core.cluster.ClusterNode;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.consensus.LocalCommandLog;
import dev.hive.core.http.ApiServer;
import dev.hive.core.monitor.Monitoring;
import dev.hive.core.monitor.NodeFacts;
import dev.hive.core.reconcile.NetworkHealthProber;
import dev.hive.core.reconcile.PortAllocator;
import dev.hive.core.reconcile.Reconciler;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.service.ServiceDiscovery;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import dev.hive.core.transfer.TransferService;
import dev.hive.core.vm.VmService;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.ProviderSelection;
import dev.hive.spi.Store;
import dev.hive.spi.StoreProvider;
import dev.hive.spi.VmRuntime;
import dev.hive.spi.VmRuntimeProvider;
import dev.hive.spi.WorkloadRuntimeProvider;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts a node on {@code hive-core}'s defaults: found by {@code Hive.builder().start()}. */
public final class CoreEngine implements HiveEngine {
  private static final Logger log = LoggerFactory.getLogger(CoreEngine.class);

  @Override
  public Cluster start(HiveConfig config) {
    List<AutoCloseable> closeables = new ArrayList<>();
    try {
      return startNode(config, closeables);
    } catch (RuntimeException e) {
      for (int i = closeables.size() - 1; i >= 0; i--) {
        try {
          closeables.get(i).close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  private static Cluster startNode(HiveConfig config, List<AutoCloseable> closeables) {
    Path dataDir = config.dataDir();
    try {
      // 0700: the store, Raft's log and snapshots, keys and tokens are all under it.
      dev.hive.core.security.SecretFiles.privateDirectory(dataDir);
    } catch (IOException e) {
      throw new HiveException("cannot create the data dir " + dataDir + ": " + e.getMessage() + "; choose another with --data-dir", e);
    }
    closeables.add(lockDataDir(dataDir));
    String nodeId = nodeId(dataDir);
    ProviderConfig base = new ProviderConfig(dataDir, config.clusterName(), nodeId, config.clock(), config.settings());
    ClassLoader loader = CoreEngine.class.getClassLoader();

    Store store =
        ProviderSelection.load("store", StoreProvider.class, config.plugins(), loader)
            .select(config.store().orElse(null), base.withDataDir(dataDir.resolve("store")), Store.class)
            .plugin();
    closeables.add(store);
    RuntimeRegistry runtimes =
        new RuntimeRegistry(
            ProviderSelection.load("runtime", WorkloadRuntimeProvider.class, config.plugins(), loader),
            base, dataDir.resolve("runtime"), config.runtime().orElse(null));
    closeables.add(runtimes);

    String name = config.nodeName().orElse(NodeFacts.hostName());
    double cpus = config.cpus() > 0 ? config.cpus() : NodeFacts.cpus();
    long memory = config.memoryBytes() > 0 ? config.memoryBytes() : NodeFacts.memoryBytes();
    ClusterNode clusterNode = null;
    CommandLog commands;
    String address = "127.0.0.1";
    if (config.clustered()) {
      Map<String, String> meta = new LinkedHashMap<>();
      meta.put("name", name);
      meta.put("api", Integer.toString(config.httpPort()));
      clusterNode = ClusterNode.start(config, nodeId, dataDir, meta, closeables);
      closeables.add(clusterNode);
      commands = clusterNode.commandLog();
      address = clusterNode.advertiseHost;
      if (clusterNode.createdCluster) {
        // Never the token itself: logs are read by more people than the data dir.
        log.info("created cluster '{}'; other nodes join it with --seeds {}:{} --token-file {}", config.clusterName(), address, clusterNode.port,
            dataDir.resolve("tls").resolve("token"));
      }
    } else {
      LocalCommandLog local = new LocalCommandLog(store, LocalCommandLog.SNAPSHOT_EVERY);
      closeables.add(local);
      commands = local;
    }
    VmRuntime vmRuntime = null;
    Function<String, VmRuntime> peerVmRuntime = null;
    if (config.vmRuntime().isPresent()) {
      ProviderSelection<VmRuntimeProvider> vmProviders = ProviderSelection.load("vm-runtime", VmRuntimeProvider.class, config.plugins(), loader);
      ProviderConfig vmConfig = base.withDataDir(createDir(dataDir.resolve("vm")));
      vmRuntime = vmProviders.select(config.vmRuntime().get(), vmConfig, VmRuntime.class).plugin();
      closeables.add(vmRuntime);
      // A rollback reaches the target's hypervisor directly when the target node is down.
      peerVmRuntime = uri -> {
        Map<String, String> settings = new LinkedHashMap<>(config.settings());
        settings.put("hive.libvirt.uri", uri);
        settings.put("hive.libvirt.migration-uri", uri);
        return vmProviders.select(config.vmRuntime().get(), new ProviderConfig(vmConfig.dataDir(), config.clusterName(), nodeId, config.clock(), settings),
            VmRuntime.class).plugin();
      };
    }
    NodeRecord self = new NodeRecord(nodeId, name, address, cpus, memory, config.labels(), runtimes.names(), config.clock().millis(), config.taints(), false,
        config.vmRuntime().orElse(""));
    submitWithRetry(commands, new Command.RegisterNode(self));
    boolean founder = clusterNode == null || clusterNode.createdCluster;
    java.util.Optional<String> newBootstrapToken = bootstrapApiToken(commands, dataDir, founder, config.clock());

    EventBus events = new EventBus(Executors.newSingleThreadExecutor(daemon("hive-events")));
    NetworkHealthProber prober = new NetworkHealthProber(Executors.newFixedThreadPool(4, daemon("hive-health")));
    closeables.add(prober);
    Reconciler.Settings settings =
        new Reconciler.Settings(
            base.duration("hive.reconcile.stop-grace", Reconciler.Settings.DEFAULTS.stopGrace()),
            base.duration("hive.reconcile.backoff-base", Reconciler.Settings.DEFAULTS.backoffBase()),
            base.duration("hive.reconcile.backoff-max", Reconciler.Settings.DEFAULTS.backoffMax()),
            base.duration("hive.reconcile.startup-grace", Reconciler.Settings.DEFAULTS.startupGrace()),
            base.duration("hive.services.drain-delay", Reconciler.Settings.DEFAULTS.drainDelay()),
            base.duration("hive.services.drain-timeout", Reconciler.Settings.DEFAULTS.drainTimeout()));
    CommandReporter reporter = new CommandReporter(commands, Executors.newSingleThreadScheduledExecutor(daemon("hive-reports")), config.clock());
    closeables.add(reporter);
    Reconciler reconciler =
        new Reconciler(
            config.clusterName(), nodeId, commands::state, runtimes::get, store, prober, PortAllocator.SYSTEM,
            config.clock(), events::publish, settings, dataDir.resolve("volumes"), reporter);
    ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(daemon("hive-reconciler"));

    Monitoring monitoring = Monitoring.create(base, nodeId, name, System.getenv());
    events.subscribe(monitoring::count);
    ServiceDiscovery services = ServiceDiscovery.start(config, base, nodeId, commands::state);
    closeables.add(services);
    TransferService transfers = new TransferService(config, base, nodeId, commands::state);
    closeables.add(transfers);
    VmService vms = new VmService(nodeId, commands::state, commands, vmRuntime, peerVmRuntime, transfers, events::publish, config.clock(),
        dataDir.resolve("vm").resolve("migrations"), base.duration("hive.vm.cold-shutdown-grace", Duration.ofSeconds(30)),
        config.settings().get("hive.vm.migrate-address"));
    closeables.add(vms);
    LocalCluster cluster = new LocalCluster(config, self, store, commands, runtimes, reconciler, events, loop, closeables, clusterNode, services, monitoring,
        transfers, vms);
    events.publish(new HiveEvent(HiveEvent.Type.NODE_STARTED, config.clock().instant(), null, null, null,
        "node " + self.name() + " (" + nodeId + ") on " + dataDir));
    cluster.startLoop(base.duration("hive.reconcile.interval", Duration.ofMillis(250)));
    if (config.httpPort() >= 0) {
      ApiServer.Security security = new ApiServer.Security(apiHostNames(base, address),
          !base.setting("hive.api.trust-local-owner").map(v -> v.equalsIgnoreCase("false")).orElse(false),
          !base.setting("hive.api.open-health").map(v -> v.equalsIgnoreCase("false")).orElse(false),
          base.setting("hive.api.open-metrics").map(v -> v.equalsIgnoreCase("true")).orElse(false));
      ApiServer api = ApiServer.start(cluster, config.httpHost(), config.httpPort(), security,
          base.setting("hive.api.server").map("jdk"::equals).orElse(false), apiTls(config, clusterNode, nodeId, address, dataDir));
      closeables.add(api);
      cluster.setApiUrl(api.url());
      newBootstrapToken.ifPresent(cluster::setNewBootstrapApiToken);
    }
    return cluster;
  }

  /**
   * The names a request may carry as its Host besides IP literals and localhost: this host's name,
   * the node's advertised name and what {@code hive.api.allowed-hosts} lists (comma-separated).
   */
  private static java.util.Set<String> apiHostNames(ProviderConfig config, String advertised) {
    java.util.Set<String> names = new java.util.TreeSet<>();
    names.add(advertised);
    try {
      names.add(java.net.InetAddress.getLocalHost().getHostName());
    } catch (java.io.IOException e) {
      // A host without a resolvable name is reached by address.
    }
    config.setting("hive.api.allowed-hosts").ifPresent(list -> {
      for (String name : list.split(",")) {
        if (!name.isBlank()) {
          names.add(name.trim());
        }
      }
    });
    return names;
  }

  /**
   * Creates the cluster's first admin token on the node that founds it, and again on a node that
   * wrote its file but crashed before the state recorded it. Returns the secret when this start
   * made it, for the daemon to show once.
   */
  private static java.util.Optional<String> bootstrapApiToken(CommandLog commands, Path dataDir, boolean founder, java.time.Clock clock) {
    Path file = dataDir.resolve(dev.hive.core.security.ApiTokens.BOOTSTRAP_FILE);
    boolean existed = Files.exists(file);
    if (commands.state().bootstrapTokenIssued() || !(founder || existed)) {
      return java.util.Optional.empty();
    }
    String secret = dev.hive.core.security.ApiTokens.bootstrapSecret(dataDir);
    try {
      submitWithRetry(commands, new Command.CreateToken(new dev.hive.core.state.TokenRecord(dev.hive.core.security.ApiTokens.BOOTSTRAP_NAME, "admin",
          dev.hive.core.security.ApiTokens.sha256(secret), clock.millis(), 0), true));
    } catch (dev.hive.api.ConflictException e) {
      // Issued already (this node's state had not caught up): the file's token is the one, or was revoked.
      return java.util.Optional.empty();
    }
    return existed ? java.util.Optional.empty() : java.util.Optional.of(secret);
  }

  /**
   * HTTPS material for an API off loopback: the certificate the user gave, or one the cluster CA
   * issues now for the node's names (written to {@code tls/api.crt} and {@code tls/api.key}).
   * Null on loopback, where the API stays plain HTTP.
   *
   * @throws InvalidSpecException off loopback on a node that has neither
   */
  private static ApiServer.Tls apiTls(HiveConfig config, ClusterNode clusterNode, String nodeId, String advertised, Path dataDir) {
    String bind = config.httpHost();
    java.net.InetAddress address;
    try {
      address = java.net.InetAddress.getByName(bind);
    } catch (java.io.IOException e) {
      throw new InvalidSpecException("http-bind", "'" + bind + "' is not an address of this host");
    }
    if (address.isLoopbackAddress()) {
      return null;
    }
    try {
      if (config.httpCertificate().isPresent()) {
        java.util.List<java.security.cert.X509Certificate> chain = new java.util.ArrayList<>();
        try (java.io.InputStream in = Files.newInputStream(config.httpCertificate().get())) {
          for (java.security.cert.Certificate c : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
            chain.add((java.security.cert.X509Certificate) c);
          }
        }
        if (chain.isEmpty()) {
          throw new InvalidSpecException("http-cert", config.httpCertificate().get() + " holds no PEM certificate");
        }
        java.security.PrivateKey key = ClusterPki.parsePrivateKey(Files.readString(config.httpKey().orElseThrow()));
        return new ApiServer.Tls(key, chain, advertised);
      }
      if (clusterNode == null) {
        throw new InvalidSpecException("http-bind", "off loopback the API is HTTPS only, and this node has no cluster CA to issue its certificate: "
            + "start it in a cluster (--port) or give --http-cert and --http-key");
      }
      java.util.Set<String> names = new java.util.TreeSet<>(java.util.List.of("localhost", "127.0.0.1", advertised));
      if (!address.isAnyLocalAddress()) {
        names.add(address.getHostAddress());
      }
      try {
        names.add(java.net.InetAddress.getLocalHost().getHostName());
      } catch (java.io.IOException e) {
        // A host without a resolvable name is reached by address.
      }
      java.security.KeyPair keys = ClusterPki.newKeyPair();
      ClusterPki pki = clusterNode.pki();
      java.security.cert.X509Certificate cert = pki.issueServer(nodeId, keys.getPublic(), names);
      Path tls = dataDir.resolve("tls");
      dev.hive.core.security.SecretFiles.write(tls.resolve("api.crt"), ClusterPki.pem(cert).getBytes(StandardCharsets.UTF_8));
      dev.hive.core.security.SecretFiles.write(tls.resolve("api.key"), ClusterPki.pem(keys.getPrivate()).getBytes(StandardCharsets.UTF_8));
      return new ApiServer.Tls(keys.getPrivate(), java.util.List.of(cert, pki.caCertificate()), advertised);
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new InvalidSpecException("http-cert", "cannot read the API's certificate or key: " + e.getMessage());
    }
  }

  /**
   * The first write after a start waits for a leader: a restarted group elects one within
   * seconds. The writes made here are idempotent (the node's own record, the bootstrap token), so
   * each attempt is a request of its own; one that reached the log after its deadline (servers
   * too busy, as when fifty nodes start at once) is asked again too, since it never applies.
   */
  private static void submitWithRetry(CommandLog commands, Command command) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        commands.submit(command);
        return;
      } catch (dev.hive.api.HiveException e) {
        boolean again = e instanceof UnavailableException || dev.hive.core.state.RequestLedger.isExpiry(e);
        if (!again || System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** One agent per data dir: a second one would start every workload twice. */
  private static AutoCloseable lockDataDir(Path dataDir) {
    Path lockFile = dataDir.resolve("hive.lock");
    try {
      FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        channel.close();
        String holder = Files.readString(lockFile, StandardCharsets.UTF_8).trim();
        throw new UnavailableException("the data dir " + dataDir + " is in use by another Hive node"
            + (holder.isEmpty() ? "" : " (pid " + holder + ")") + "; stop it or choose another --data-dir");
      }
      channel.truncate(0);
      channel.write(java.nio.ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)));
      FileLock held = lock;
      return () -> {
        held.release();
        channel.close();
      };
    } catch (IOException e) {
      throw new HiveException("cannot lock " + lockFile + ": " + e.getMessage(), e);
    }
  }

  private static Path createDir(Path dir) {
    try {
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new HiveException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  private static String nodeId(Path dataDir) {
    Path file = dataDir.resolve("node-id");
    try {
      if (Files.exists(file)) {
        return Files.readString(file, StandardCharsets.UTF_8).trim();
      }
      byte[] random = new byte[4];
      ThreadLocalRandom.current().nextBytes(random);
      String id = "node-" + HexFormat.of().formatHex(random);
      Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
      return id;
    } catch (IOException e) {
      throw new HiveException("cannot read or write " + file + ": " + e.getMessage(), e);
    }
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
