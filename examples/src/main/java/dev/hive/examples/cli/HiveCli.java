package dev.hive.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.api.HiveException;
import dev.hive.examples.demo.Demo;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * The {@code hive} launcher: {@code daemon} and {@code demo} run a node in this JVM; every other
 * command is a thin client of a node's REST API.
 */
@Command(
    name = "hive",
    mixinStandardHelpOptions = true,
    version = "hive 0.1.0-SNAPSHOT",
    description = "Run and drive a Hive node: deploy, scale and heal apps.",
    subcommands = {
      HiveCli.Daemon.class,
      HiveCli.AppCommand.class,
      HiveCli.NodeCommand.class,
      HiveCli.ServiceCommand.class,
      TransferCommand.class, VmCommand.class,
      HiveCli.Health.class,
      HiveCli.Join.class,
      HiveCli.ClusterCommand.class,
      HiveCli.CommandCommand.class,
      HiveCli.OperatorCommand.class,
      TokenCommand.class,
      Demo.class,
      CommandLine.HelpCommand.class
    })
public final class HiveCli implements Runnable {
  @Option(names = "--api", scope = ScopeType.INHERIT, defaultValue = "http://127.0.0.1:3000", description = "the node's REST API (default: ${DEFAULT-VALUE})")
  String api;

  @Option(names = "--output", scope = ScopeType.INHERIT, defaultValue = "table", description = "table or json (default: ${DEFAULT-VALUE})")
  Output.Format output;

  @Option(names = "--request-id", scope = ScopeType.INHERIT, description = "the write's request id (Idempotency-Key): sent again with the"
      + " same id, a write applies at most once; `hive command status ID` tells its outcome")
  String requestId;

  @Option(names = "--api-token", scope = ScopeType.INHERIT, description = "the API token (default: $HIVE_API_TOKEN; else, if the API asks"
      + " for one, the api-token file of $HIVE_DATA_DIR or ~/.hive when you can read it)")
  String apiToken;

  @Option(names = "--ca-cert", scope = ScopeType.INHERIT, description = "with an https --api: the CA to trust (default: the cluster CA in"
      + " $HIVE_DATA_DIR/tls or ~/.hive/tls when you can read it, else the system's CAs)")
  Path caCert;

  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  ApiClient client() {
    return new ApiClient(api, requestId, ApiCredentials.find(apiToken, System.getenv()), ApiCredentials.trustedCa(caCert, System.getenv()));
  }

  @Command(name = "command", description = "Writes by their request id.", subcommands = {CommandCommand.Status.class})
  static final class CommandCommand {
    @Command(name = "status", description = "Show what became of a write: APPLIED (with its log index), REFUSED (with why) or UNKNOWN"
        + " (until its deadline has passed; then it is settled for good).")
    static final class Status implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Parameters(index = "0", paramLabel = "ID", description = "the request id")
      String id;

      @Override
      public void run() {
        HiveCli root = root(spec);
        JsonNode status = root.client().get("/api/v1/commands/" + encode(id));
        if (root.output == Output.Format.json) {
          Output.json(root.out(), status);
        } else {
          String state = status.path("state").asText();
          root.out().println(id + " " + state + (status.has("logIndex") ? " at log index " + status.path("logIndex").asLong() : "")
              + (status.has("reason") ? ": " + status.path("reason").asText() : ""));
          root.out().flush();
        }
      }
    }
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Runs the CLI; returns the exit code. */
  public static int execute(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new HiveCli());
    cli.setOut(out);
    cli.setErr(err);
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setParameterExceptionHandler(
        (ex, a) -> {
          ex.getCommandLine().getErr().println("error: " + ex.getMessage() + " (see `" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help`)");
          ex.getCommandLine().getErr().flush();
          return 2;
        });
    cli.setExecutionExceptionHandler(
        (ex, commandLine, parsed) -> {
          String message = ex instanceof CliException || ex instanceof HiveException ? ex.getMessage() : ex.toString();
          commandLine.getErr().println("error: " + message);
          commandLine.getErr().flush();
          return 1;
        });
    return cli.execute(args);
  }

  public static void main(String[] args) {
    boolean runsANode = args.length > 0 && (args[0].equals("daemon") || args[0].equals("demo"));
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", runsANode && args[0].equals("daemon") ? "info" : "warn");
    System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    // Ratis and gRPC narrate every election and connection; their warnings are what operators
    // need. A -D on the command line wins (to follow elections and configurations when debugging).
    if (System.getProperty("org.slf4j.simpleLogger.log.org.apache.ratis") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.ratis", "warn");
    }
    int code = execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    System.exit(code);
  }

  @Command(name = "daemon", description = "Run a Hive node in the foreground, with its REST API.")
  static final class Daemon implements Runnable {
    @ParentCommand HiveCli root;

    @Option(names = "--data-dir", description = "where the node keeps its state (default: ~/.hive)")
    Path dataDir;

    @Option(names = "--http-port", defaultValue = "3000", description = "REST API port (default: ${DEFAULT-VALUE})")
    int httpPort;

    @Option(names = "--http-bind", defaultValue = "127.0.0.1", description = "the API's address (default: ${DEFAULT-VALUE}); off loopback it is"
        + " HTTPS only, with a certificate from the cluster CA for this node's addresses")
    String httpBind;

    @Option(names = "--http-cert", description = "with --http-bind off loopback: the API's certificate (PEM) instead of one from the cluster CA")
    Path httpCert;

    @Option(names = "--http-key", description = "the key (PEM) of --http-cert")
    Path httpKey;

    @Option(names = "--node-name", description = "the node's name (default: the host name)")
    String nodeName;

    @Option(names = "--runtime", description = "the default workload runtime (default: the best available, `process` here)")
    String runtime;

    @Option(names = "--setting", description = "an engine or plugin setting KEY=VALUE, e.g. hive.reconcile.stop-grace=5s")
    List<String> settings = new ArrayList<>();

    @Option(names = "--cluster", defaultValue = "hive", description = "the cluster's name (default: ${DEFAULT-VALUE})")
    String clusterName;

    @Option(names = "--port", defaultValue = "7946", description = "cluster port (mutual TLS, or libp2p with --transport libp2p); consensus uses the next one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--bind", defaultValue = "0.0.0.0", description = "address the cluster and consensus ports bind (default: ${DEFAULT-VALUE})")
    String bind;

    @Option(names = "--advertise", description = "address other nodes reach this one at (default: the bind address or this host's first IPv4)")
    String advertise;

    @Option(names = "--seeds", split = ",", description = "nodes to join through, host[:port],...")
    List<String> seeds = new ArrayList<>();

    @Option(names = "--discovery", description = "how to find other nodes: seeds (default), udp, mdns, or a plugin")
    String discovery;

    @Option(names = "--server", description = "hold the consensus log and vote (default: a server while the cluster has fewer than --servers, else a client)")
    boolean server;

    @Option(names = "--client", description = "follow the state from the servers and write through them; never vote (default: as --server says)")
    boolean client;

    @Option(names = "--servers", description = "how many servers the cluster keeps: 1, 3 or 5 (default: 3; read by the servers)")
    Integer servers;

    @Option(names = "--bootstrap-expect", description = "with --discovery and no --seeds: how many nodes form a new cluster together;"
        + " the one with the lowest id founds it once it has found the others (default: once no new node turns up for 3 s)")
    Integer bootstrapExpect;

    @Option(names = "--bootstrap", split = ",", description = "with --discovery libp2p: libp2p peers to join the DHT through, /ip4/HOST/tcp/PORT/p2p/ID,...")
    List<String> bootstrap = new ArrayList<>();

    @Option(names = "--libp2p-port", description = "with --discovery libp2p: the libp2p port (default: cluster port + 2, i.e. 7948;"
        + " with --transport libp2p: the cluster port)")
    Integer libp2pPort;

    @Option(names = "--transport", defaultValue = "tcp", description = "what carries node-to-node messages: tcp (mutual TLS) or libp2p (Noise);"
        + " the same on every node (default: ${DEFAULT-VALUE})")
    String transport;

    @Option(names = "--token", description = "the cluster's join token (a first node without one generates it); visible in `ps` to every"
        + " user: prefer --token-file or $HIVE_JOIN_TOKEN")
    String token;

    @Option(names = "--env-inherit", description = "process workloads inherit this daemon's environment (default: only PATH, HOME, USER,"
        + " LOGNAME, LANG, LC_ALL, TZ, TMPDIR and their own --env: the daemon's may hold secrets)")
    boolean envInherit;

    @Option(names = "--token-file", description = "a file holding the cluster's join token, e.g. a copy of a member's DATA_DIR/tls/token")
    Path tokenFile;

    @Option(names = "--label", description = "a node label KEY=VALUE for placement constraints (repeatable)")
    List<String> labels = new ArrayList<>();

    @Option(names = "--taint", description = "a taint KEY=VALUE[:NoSchedule]: only apps tolerating it are placed here (repeatable)")
    List<String> taints = new ArrayList<>();

    @Option(names = "--cpus", description = "CPU cores this node offers to workloads (default: detected)")
    Double cpus;

    @Option(names = "--dns-port", defaultValue = "8953", description = "port of the DNS server for NAME.<domain> (53 needs root; 0 any free, -1 none; default: ${DEFAULT-VALUE})")
    int dnsPort;

    @Option(names = "--dns-domain", defaultValue = "hive", description = "the domain services are found under (default: ${DEFAULT-VALUE})")
    String dnsDomain;

    @Option(names = "--proxy-balancing", defaultValue = "round-robin", description = "how the service proxy picks an instance: round-robin or least-connections (default: ${DEFAULT-VALUE})")
    String proxyBalancing;

    @Option(names = "--memory", description = "memory this node offers to workloads, e.g. 8G (default: detected)")
    String memory;

    @Option(names = "--vm-runtime", description = "the node's VM runtime, e.g. libvirt (default: none, the node runs no VMs)")
    String vmRuntime;

    @Option(names = "--libvirt-uri", description = "the libvirt daemon to drive (default: qemu:///system)")
    String libvirtUri;

    @Option(names = "--libvirt-migration-uri", description = "where other nodes' libvirt reaches this one for live migration, "
        + "e.g. qemu+tcp://10.0.0.2/system (default: --libvirt-uri)")
    String libvirtMigrationUri;

    @Override
    public void run() {
      Hive.Builder builder = Hive.builder().httpPort(httpPort).httpBind(httpBind).clusterName(clusterName).port(port).bindAddress(bind).seeds(seeds);
      if ((httpCert == null) != (httpKey == null)) {
        throw new CliException("--http-cert and --http-key go together");
      }
      if (httpCert != null) {
        builder.httpCertificate(httpCert, httpKey);
      }
      keyValues("--label", "KEY=VALUE, e.g. zone=a", labels, builder::label);
      taints.forEach(builder::taint);
      if (cpus != null) {
        builder.cpus(cpus);
      }
      if (memory != null) {
        builder.memoryBytes(dev.hive.core.state.Sizes.parseBytes("memory", memory));
      }
      if (advertise != null) {
        builder.advertiseAddress(advertise);
      }
      if (discovery != null) {
        builder.discovery(discovery);
      }
      String joinToken = ApiCredentials.joinToken(token, tokenFile, System.getenv(), root.err());
      if (joinToken != null) {
        builder.joinToken(joinToken);
      }
      if (bootstrapExpect != null) {
        if (discovery == null || "seeds".equals(discovery) || !seeds.isEmpty()) {
          throw new CliException("--bootstrap-expect needs --discovery (udp, mdns, libp2p) and no --seeds: with seeds, the seed's cluster is joined");
        }
        if (bootstrapExpect < 1) {
          throw new CliException("--bootstrap-expect " + bootstrapExpect + " is not a node count; give 1 or more, e.g. 3");
        }
        builder.setting("hive.formation.expect", Integer.toString(bootstrapExpect));
      }
      builder.transport(transport);
      boolean libp2pTransport = "libp2p".equals(transport);
      if ("libp2p".equals(discovery) || libp2pTransport) {
        builder.setting("hive.libp2p.bootstrap", String.join(",", bootstrap));
        int p2pPort = libp2pPort != null ? libp2pPort : port == 0 ? 0 : libp2pTransport ? port : port + 2;
        if (p2pPort < 0 || p2pPort > 65535) {
          throw new CliException("--libp2p-port " + p2pPort + " is not a port; use 1-65535, or 0 for any free port");
        }
        builder.setting("hive.libp2p.port", Integer.toString(p2pPort));
        builder.setting("hive.libp2p.bind", bind);
      } else if (!bootstrap.isEmpty() || libp2pPort != null) {
        throw new CliException("--bootstrap and --libp2p-port need --discovery libp2p or --transport libp2p");
      }
      if (dataDir != null) {
        builder.dataDir(dataDir);
      }
      if (nodeName != null) {
        builder.nodeName(nodeName);
      }
      if (runtime != null) {
        builder.runtime(runtime);
      }
      if (vmRuntime != null) {
        builder.vmRuntime(vmRuntime);
      } else if (libvirtUri != null || libvirtMigrationUri != null) {
        throw new CliException("--libvirt-uri and --libvirt-migration-uri need --vm-runtime libvirt");
      }
      if (libvirtUri != null) {
        builder.setting("hive.libvirt.uri", libvirtUri);
      }
      if (libvirtMigrationUri != null) {
        builder.setting("hive.libvirt.migration-uri", libvirtMigrationUri);
      }
      if (dnsPort < -1 || dnsPort > 65535) {
        throw new CliException("--dns-port " + dnsPort + " is not a port; use 1-65535, 0 for any free port, or -1 for no DNS server");
      }
      builder.setting("hive.dns.port", Integer.toString(dnsPort));
      builder.setting("hive.dns.domain", dnsDomain);
      builder.setting("hive.proxy.balancing", dev.hive.core.service.ServiceProxy.Balancing.parse(proxyBalancing).name().toLowerCase(java.util.Locale.ROOT)
          .replace('_', '-'));
      if (envInherit) {
        builder.setting("hive.process.env-inherit", "true");
      }
      if (server && client) {
        throw new CliException("--server and --client exclude each other: give one, or neither to let the cluster choose");
      }
      if (server || client) {
        builder.setting(dev.hive.core.cluster.ClusterNode.ROLE, server ? "server" : "client");
      }
      if (servers != null) {
        if (servers != 1 && servers != 3 && servers != 5) {
          throw new CliException("--servers " + servers + " is not 1, 3 or 5: an odd number keeps a majority through a partition, and more than five"
              + " make every write slower without surviving more failures in practice");
        }
        builder.setting(dev.hive.core.cluster.ClusterNode.SERVERS, Integer.toString(servers));
      }
      keyValues("--setting", "KEY=VALUE", settings, builder::setting);
      Cluster cluster = builder.start();
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        cluster.close();
        stopped.countDown();
      }, "hive-shutdown"));
      root.out().println("hive node " + cluster.localNode().name() + " (" + cluster.localNode().id() + ") serving " + cluster.apiUrl()
          + "; cluster port " + port + "; data dir " + builder.config().dataDir());
      Path data = builder.config().dataDir();
      if (cluster instanceof dev.hive.core.node.LocalCluster local) {
        if (local.createdCluster()) {
          // The join token stays in its file: this output may end in a log that others read.
          root.out().println("created cluster '" + clusterName + "'; its join token is in " + data.resolve("tls").resolve("token")
              + " (`hive cluster token` prints it)");
          root.out().println("other nodes join with: hive daemon --seeds " + cluster.localNode().address() + ":" + port
              + " --token-file FILE (a copy of that file)");
        }
        local.newBootstrapApiToken().ifPresent(secret -> {
          root.out().println("the API's admin token is in " + data.resolve(dev.hive.core.security.ApiTokens.BOOTSTRAP_FILE)
              + " (readable by you only); `hive` finds it there, other clients send it as Authorization: Bearer TOKEN");
          if (System.console() != null) {
            root.out().println("admin token (shown once): " + secret);
          }
        });
      }
      root.out().flush();
      try {
        stopped.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Command(name = "join", description = "Tell a running daemon to reach more nodes of its cluster (host[:port]).")
  static final class Join implements Runnable {
    @ParentCommand HiveCli root;

    @Option(names = "--host", required = true, description = "a node to reach, host[:port] (repeatable)")
    List<String> hosts = new ArrayList<>();

    @Option(names = "--token", description = "the cluster's join token; refused if it is not this node's")
    String token;

    @Override
    public void run() {
      ObjectNode body = root.client().mapper().createObjectNode();
      hosts.forEach(body.putArray("hosts")::add);
      if (token != null) {
        body.put("token", token);
      }
      JsonNode joined = root.client().post("/api/v1/cluster/join", body);
      StringBuilder line = new StringBuilder("joining through " + String.join(", ", hosts));
      joined.path("hosts").forEach(h -> line.append("\n  ").append(h.path("host").asText()).append(": ").append(h.path("result").asText()));
      report(root, joined, line.toString());
    }
  }

  @Command(name = "cluster", description = "The cluster this node belongs to.", subcommands = {ClusterCommand.Token.class})
  static final class ClusterCommand {
    @Command(name = "token", description = "Print the join token other nodes need.")
    static final class Token implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Override
      public void run() {
        HiveCli root = root(spec);
        JsonNode token = root.client().get("/api/v1/cluster/token");
        if (root.output == Output.Format.json) {
          Output.json(root.out(), token);
        } else {
          root.out().println(token.path("token").asText());
          root.out().flush();
        }
      }
    }
  }

  @Command(name = "operator", description = "Operate the servers.", subcommands = {OperatorCommand.Raft.class})
  static final class OperatorCommand {
    @Command(name = "raft", description = "The servers' consensus group.", subcommands = {Raft.ListPeers.class})
    static final class Raft {
      @Command(name = "list-peers", description = "List the consensus group as a server holds it: who votes and who leads (as `nomad operator"
          + " raft list-peers`). A standby, which `hive node ls` on a client shows as a SERVER, is a member that does not vote yet.")
      static final class ListPeers implements Runnable {
        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
          HiveCli root = root(spec);
          Output.print(root.out(), root.output, root.client().get("/api/v1/operator/raft/configuration").path("servers"), "id", "address", "voter", "leader");
        }
      }
    }
  }

  @Command(name = "health", description = "Check the node; exits 1 when it is not healthy.")
  static final class Health implements java.util.concurrent.Callable<Integer> {
    @ParentCommand HiveCli root;

    @Override
    public Integer call() {
      ApiClient.Response r = root.client().exchange("/api/v1/health");
      if (r.status() >= 400 && !r.body().has("healthy")) {
        throw new CliException(r.body().path("error").asText("HTTP " + r.status()));
      }
      if (root.output == Output.Format.json) {
        Output.json(root.out(), r.body());
      } else {
        boolean healthy = r.body().path("healthy").asBoolean();
        root.out().println(healthy ? "healthy" : "NOT healthy");
        r.body().path("checks").fields().forEachRemaining(e -> root.out().println("  " + e.getKey() + ": " + e.getValue().asText()));
        root.out().flush();
      }
      return r.body().path("healthy").asBoolean() ? 0 : 1;
    }
  }

  @Command(name = "node", description = "Nodes of the cluster.", subcommands = {NodeCommand.Ls.class, NodeCommand.Info.class, NodeCommand.Drain.class})
  static final class NodeCommand {
    @Command(name = "drain", description = "Move every instance off a node, one slot at a time, and place nothing new there.")
    static final class Drain implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--node", required = true, description = "node id or name")
      String node;

      @Option(names = "--disable", description = "end the drain: the node takes new instances again")
      boolean disable;

      @Override
      public void run() {
        HiveCli root = root(spec);
        ApiClient client = root.client();
        ObjectNode body = client.mapper().createObjectNode().put("enable", !disable);
        JsonNode result = client.post("/api/v1/nodes/" + encode(node) + "/drain", body);
        if (root.output == Output.Format.json) {
          Output.json(root.out(), result);
        } else {
          root.out().println("node " + result.path("name").asText() + (disable ? " takes new instances again" : " is draining: its instances move one slot at a time"));
          root.out().flush();
        }
      }
    }

    @Command(name = "ls", description = "List the nodes.")
    static final class Ls implements Runnable {
      @ParentCommand NodeCommand parent;
      @Spec CommandLine.Model.CommandSpec spec;

      @Override
      public void run() {
        HiveCli root = root(spec);
        Output.print(root.out(), root.output, root.client().get("/api/v1/nodes"), "id", "name", "address", "state", "role", "cpus", "instances", "draining", "lastSeen");
      }
    }

    @Command(name = "info", description = "Show a node's details (default: the node the API runs on).")
    static final class Info implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--node", description = "node id or name")
      String node;

      @Override
      public void run() {
        HiveCli root = root(spec);
        JsonNode info = root.client().get(node == null ? "/api/v1/node" : "/api/v1/nodes/" + encode(node));
        Output.printObject(root.out(), root.output, info);
      }
    }
  }

  @Command(name = "service", description = "Services: names in DNS and ports on every node's proxy.",
      subcommands = {ServiceCommand.Ls.class, ServiceCommand.Endpoints.class})
  static final class ServiceCommand {
    @Command(name = "ls", description = "List the services, their DNS names, ports and healthy endpoints.")
    static final class Ls implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Override
      public void run() {
        HiveCli root = root(spec);
        JsonNode services = root.client().get("/api/v1/services");
        if (root.output == Output.Format.table) {
          for (JsonNode s : services) {
            ((ObjectNode) s).put("proxy", s.path("proxy").path("state").asText() + (s.path("proxy").has("problem") ? ": " + s.path("proxy").path("problem").asText() : ""));
          }
        }
        Output.print(root.out(), root.output, services, "name", "app", "domain", "port", "healthyEndpoints", "proxy");
      }
    }

    @Command(name = "endpoints", description = "List a service's healthy endpoints (instance, node, host:port).")
    static final class Endpoints implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @CommandLine.Parameters(index = "0", paramLabel = "NAME", description = "the service")
      String name;

      @Override
      public void run() {
        HiveCli root = root(spec);
        Output.print(root.out(), root.output, root.client().get("/api/v1/services/" + encode(name) + "/endpoints"), "instance", "app", "node", "address");
      }
    }
  }

  @Command(
      name = "app",
      description = "Apps: deploy, list, scale, restart, remove, and their instances.",
      subcommands = {
        AppCommand.Deploy.class,
        AppCommand.Ls.class,
        AppCommand.Scale.class,
        AppCommand.Restart.class,
        AppCommand.Rm.class,
        AppCommand.Apply.class,
        AppCommand.Containers.class,
        AppCommand.ContainerInfo.class,
        AppCommand.Logs.class
      })
  static final class AppCommand {
    @Command(name = "deploy", description = "Deploy a new app.")
    static final class Deploy implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--name", required = true, description = "the app's name")
      String name;

      @Option(names = "--command", description = "a shell command ($PORT holds the first port); with --image it runs inside the image")
      String command;

      @Option(names = "--image", description = "a container image, e.g. localhost/busybox:latest (runtimes docker, podman)")
      String image;

      @Option(names = "--service", description = "the service name the app is found by")
      String service;

      @Option(names = "--service-port", description = "the port its service listens on (default: the first --port)")
      Integer servicePort;

      @Option(names = "--runtime", description = "process, docker, podman, or a plugin's runtime (default: process for a command, "
          + "a container runtime for an image)")
      String runtime;

      @Option(names = "--replicas", defaultValue = "1", description = "instances to run (default: ${DEFAULT-VALUE})")
      int replicas;

      @Option(names = "--port", description = "a port to publish: 8080 or name:8080 (repeatable)")
      List<String> ports = new ArrayList<>();

      @Option(names = "--env", description = "an environment variable K=V (repeatable)")
      List<String> env = new ArrayList<>();

      @Option(names = "--health-http", description = "HTTP path checked on the first port")
      String healthHttp;

      @Option(names = "--health-tcp", description = "check that the first port accepts TCP connections")
      boolean healthTcp;

      @Option(names = "--restart", description = "always, on-failure or never (default: always)")
      String restart;

      @Option(names = "--cpus", description = "CPU limit per instance, in cores")
      Double cpus;

      @Option(names = "--memory", description = "memory limit per instance, e.g. 256M")
      String memory;

      @Option(names = "--strategy", description = "binpack (default: fill nodes) or spread (fewest replicas of the app per node)")
      String strategy;

      @Option(names = "--anti-affinity", description = "never two replicas of the app on one node")
      boolean antiAffinity;

      @Option(names = "--constraint", description = "a node label the node must have, LABEL=VALUE (repeatable)")
      List<String> constraints = new ArrayList<>();

      @Option(names = "--toleration", description = "a node taint tolerated, KEY or KEY=VALUE (repeatable)")
      List<String> tolerations = new ArrayList<>();

      @Option(names = "--stateful", description = "ordinal names (NAME-0, NAME-1...), a volume per ordinal, quorum-safe replacement")
      boolean stateful;

      @Option(names = "--restart-limit", description = "failures in a row on one node before the replica moves to another (default: 5)")
      Integer restartLimit;

      @Override
      public void run() {
        HiveCli root = root(spec);
        ApiClient client = root.client();
        ObjectNode body = client.mapper().createObjectNode();
        body.put("name", name);
        if (strategy != null) {
          body.put("strategy", strategy);
        }
        if (antiAffinity) {
          body.put("antiAffinity", true);
        }
        ObjectNode constraintObject = body.putObject("constraints");
        keyValues("--constraint", "LABEL=VALUE, e.g. zone=a", constraints, constraintObject::put);
        tolerations.forEach(body.putArray("tolerations")::add);
        if (stateful) {
          body.put("stateful", true);
        }
        if (restartLimit != null) {
          body.put("restartLimit", restartLimit);
        }
        if (command == null && image == null) {
          throw new CliException("give --command, --image, or both (the command then runs inside the image)");
        }
        if (command != null) {
          body.put("command", command);
        }
        if (image != null) {
          body.put("image", image);
        }
        if (service != null) {
          body.put("service", service);
          if (servicePort != null) {
            body.put("servicePort", servicePort);
          }
        } else if (servicePort != null) {
          throw new CliException("--service-port needs --service NAME");
        }
        if (runtime != null) {
          body.put("runtime", runtime);
        }
        body.put("replicas", replicas);
        ArrayNode portArray = body.putArray("ports");
        ports.forEach(portArray::add);
        ObjectNode envObject = body.putObject("env");
        keyValues("--env", "KEY=VALUE", env, envObject::put);
        if (healthHttp != null && healthTcp) {
          throw new CliException("--health-http and --health-tcp exclude each other; choose one");
        }
        if (healthHttp != null) {
          body.putObject("healthCheck").put("type", "http").put("path", healthHttp);
        } else if (healthTcp) {
          body.putObject("healthCheck").put("type", "tcp");
        }
        if (restart != null) {
          body.put("restart", restart);
        }
        if (cpus != null) {
          body.put("cpus", cpus);
        }
        if (memory != null) {
          body.put("memory", memory);
        }
        JsonNode app = client.post("/api/v1/apps", body);
        if (root.output == Output.Format.json) {
          Output.json(root.out(), app);
        } else {
          root.out().println("deployed " + app.path("name").asText() + ": " + app.path("replicas").asInt() + " replicas on runtime " + app.path("runtime").asText());
          root.out().flush();
        }
      }
    }

    @Command(name = "apply", description = "Run the Deployments and StatefulSets of a Kubernetes YAML file (with their Services) as apps.")
    static final class Apply implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = {"-f", "--file"}, required = true, description = "the manifest; - reads standard input")
      String file;

      @Override
      public void run() {
        HiveCli root = root(spec);
        byte[] yaml;
        try {
          yaml = file.equals("-") ? System.in.readAllBytes() : java.nio.file.Files.readAllBytes(java.nio.file.Path.of(file));
        } catch (java.io.IOException e) {
          throw new CliException("cannot read " + file + ": " + e.getMessage());
        }
        JsonNode result = root.client().post("/api/v1/apply", yaml, "application/yaml");
        if (root.output == Output.Format.json) {
          Output.json(root.out(), result);
          return;
        }
        for (JsonNode app : result.path("apps")) {
          root.out().println(app.path("name").asText() + " " + app.path("action").asText() + " (" + app.path("replicas").asInt() + " replicas"
              + (app.path("stateful").asBoolean() ? ", stateful" : "") + (app.hasNonNull("service") ? ", service " + app.path("service").asText() : "") + ")");
        }
        for (JsonNode warning : result.path("warnings")) {
          root.err().println("warning: " + warning.asText());
        }
        root.out().flush();
        root.err().flush();
      }
    }

    @Command(name = "ls", description = "List the apps.")
    static final class Ls implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Override
      public void run() {
        HiveCli root = root(spec);
        Output.print(root.out(), root.output, root.client().get("/api/v1/apps"), "name", "replicas", "healthyInstances", "pending", "strategy", "runtime",
            "command", "image", "pendingReason");
      }
    }

    @Command(name = "scale", description = "Set an app's number of instances.")
    static final class Scale implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--name", required = true)
      String name;

      @Option(names = "--replicas", required = true)
      int replicas;

      @Override
      public void run() {
        HiveCli root = root(spec);
        ObjectNode body = root.client().mapper().createObjectNode().put("replicas", replicas);
        JsonNode app = root.client().post("/api/v1/apps/" + encode(name) + "/scale", body);
        report(root, app, "scaled " + name + " to " + replicas + " replicas");
      }
    }

    @Command(name = "restart", description = "Replace every instance of an app, one at a time.")
    static final class Restart implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--name", required = true)
      String name;

      @Override
      public void run() {
        HiveCli root = root(spec);
        report(root, root.client().post("/api/v1/apps/" + encode(name) + "/restart", null), "restarting " + name);
      }
    }

    @Command(name = "rm", description = "Remove an app and stop its instances.")
    static final class Rm implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--name", required = true)
      String name;

      @Override
      public void run() {
        HiveCli root = root(spec);
        report(root, root.client().delete("/api/v1/apps/" + encode(name)), "removed " + name);
      }
    }

    @Command(name = "containers", description = "List instances, of one app or of all.")
    static final class Containers implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--name", description = "only this app's instances")
      String name;

      @Override
      public void run() {
        HiveCli root = root(spec);
        JsonNode instances = root.client().get("/api/v1/instances" + (name == null ? "" : "?app=" + encode(name)));
        Output.print(root.out(), root.output, instances, "id", "app", "node", "state", "healthy", "pid", "hostPorts", "restarts");
      }
    }

    @Command(name = "container-info", description = "Show one instance in detail, with why it is in its state.")
    static final class ContainerInfo implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--container-id", required = true)
      String id;

      @Override
      public void run() {
        HiveCli root = root(spec);
        Output.printObject(root.out(), root.output, root.client().get("/api/v1/instances/" + encode(id)));
      }
    }

    @Command(name = "logs", description = "Print an instance's output (stdout and stderr).")
    static final class Logs implements Runnable {
      @Spec CommandLine.Model.CommandSpec spec;

      @Option(names = "--container-id", required = true)
      String id;

      @Option(names = "--tail", defaultValue = "100", description = "lines to show (default: ${DEFAULT-VALUE})")
      int tail;

      @Override
      public void run() {
        HiveCli root = root(spec);
        JsonNode logs = root.client().get("/api/v1/instances/" + encode(id) + "/logs?tail=" + tail);
        if (root.output == Output.Format.json) {
          Output.json(root.out(), logs);
        } else {
          logs.path("lines").forEach(l -> root.out().println(l.asText()));
          root.out().flush();
        }
      }
    }
  }

  private static void report(HiveCli root, JsonNode body, String line) {
    if (root.output == Output.Format.json) {
      Output.json(root.out(), body);
    } else {
      root.out().println(line);
      root.out().flush();
    }
  }

  static HiveCli root(CommandLine.Model.CommandSpec spec) {
    CommandLine c = spec.commandLine();
    while (c.getParent() != null) {
      c = c.getParent();
    }
    return (HiveCli) c.getCommand();
  }

  static String encode(String segment) {
    return java.net.URLEncoder.encode(segment, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Splits each {@code KEY=VALUE} of a repeatable option and hands the parts on, or names the one that is not. */
  static void keyValues(String option, String form, List<String> values, java.util.function.BiConsumer<String, String> into) {
    for (String v : values) {
      int eq = v.indexOf('=');
      if (eq <= 0) {
        throw new CliException(option + " '" + v + "' must be " + form);
      }
      into.accept(v.substring(0, eq), v.substring(eq + 1));
    }
  }
}
