package dev.hive.core.node;

import dev.hive.api.App;
import dev.hive.api.AppSpec;
import dev.hive.api.Apps;
import dev.hive.api.HiveEvent;
import dev.hive.api.HiveException;
import dev.hive.api.Instance;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.Subscription;
import dev.hive.api.UnavailableException;
import dev.hive.api.WriteOptions;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.reconcile.Reconciler;
import dev.hive.core.service.ServiceDiscovery;
import dev.hive.core.state.AppRecord;
import dev.hive.core.state.Command;
import dev.hive.core.state.NodeRecord;
import dev.hive.spi.RuntimeCapabilities;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The apps of the cluster as one node serves them: a deploy checks what this node can check (the
 * runtime, the service port) and goes through the command log; the reconciler and the placer do
 * the rest.
 */
final class LocalApps implements Apps {
  private final LocalCluster cluster;
  private final NodeRecord self;
  private final CommandLog commands;
  private final RuntimeRegistry runtimes;
  private final Reconciler reconciler;
  private final ServiceDiscovery services;
  private final EventBus events;
  private final Clock clock;

  LocalApps(LocalCluster cluster, NodeRecord self, CommandLog commands, RuntimeRegistry runtimes, Reconciler reconciler, ServiceDiscovery services,
      EventBus events, Clock clock) {
    this.cluster = cluster;
    this.self = self;
    this.commands = commands;
    this.runtimes = runtimes;
    this.reconciler = reconciler;
    this.services = services;
    this.events = events;
    this.clock = clock;
  }

  @Override
  public App deploy(AppSpec spec, WriteOptions options) {
    AppSpec resolved = withResolvedRuntime(spec);
    if (!cluster.appliedBefore(options)) {
      // A retry of a deploy that applied finds the port taken by the app itself.
      checkServicePortFree(resolved);
    }
    cluster.submit(new Command.DeployApp(resolved, clock.millis()), options);
    events.publish(new HiveEvent(HiveEvent.Type.APP_DEPLOYED, clock.instant(), spec.name(), null, null,
        resolved.replicas() + " replicas on runtime " + resolved.runtime()));
    // Not looked up again: deleted by another write in between, the deploy still applied.
    return new AppHandle(spec.name());
  }

  @Override
  public Optional<App> get(String name) {
    return Optional.ofNullable(commands.state().apps().get(name)).map(a -> new AppHandle(a.name()));
  }

  @Override
  public App require(String name) {
    return get(name).orElseThrow(() -> new NotFoundException("there is no app named '" + name + "'; `hive app ls` lists the apps"));
  }

  @Override
  public List<App> list() {
    return commands.state().apps().keySet().stream().map(n -> (App) new AppHandle(n)).toList();
  }

  @Override
  public void delete(String name, WriteOptions options) {
    cluster.submit(new Command.DeleteApp(name), options);
    // Stop the instances before returning, so that "delete, then close" leaves no process behind.
    reconciler.tick();
    events.publish(new HiveEvent(HiveEvent.Type.APP_DELETED, clock.instant(), name, null, null, "deleted"));
  }

  /**
   * A service's port must be free here for this node's proxy to listen on it (other nodes report
   * a taken port in {@code hive service ls}); a port another service holds is refused by the
   * state machine.
   *
   * @throws dev.hive.api.ConflictException if something else listens on it
   */
  private void checkServicePortFree(AppSpec spec) {
    if (spec.service() == null || services.proxy().isEmpty()) {
      return;
    }
    int port = dev.hive.core.state.ServicePorts.listenPort(spec);
    boolean ours = services.catalog().definitions().values().stream().anyMatch(d -> d.listenPort() == port);
    if (ours) {
      return;
    }
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new java.net.InetSocketAddress(services.proxyAddress(), port));
    } catch (java.io.IOException e) {
      throw new dev.hive.api.ConflictException("service port " + port + " is taken on node " + self.name() + " (" + e.getMessage()
          + "): every node's proxy for service '" + spec.service() + "' listens on it; choose another with --service-port");
    }
  }

  private AppSpec withResolvedRuntime(AppSpec spec) {
    String name;
    RuntimeCapabilities caps;
    try {
      name = spec.runtime() != null ? spec.runtime() : spec.image() != null ? runtimes.imageRuntimeName() : runtimes.defaultName();
      caps = runtimes.get(name).capabilities();
    } catch (UnavailableException e) {
      throw new InvalidSpecException(spec.runtime() == null && spec.image() != null ? "image" : "runtime", e.getMessage());
    }
    if (spec.image() != null && !caps.runsImages()) {
      throw new InvalidSpecException("image", "the runtime '" + name + "' runs commands, not images; use --runtime docker or podman, or --command");
    }
    if (spec.image() == null && !caps.runsCommands()) {
      throw new InvalidSpecException("command", "the runtime '" + name + "' runs images, not commands; use --image");
    }
    NodeRecord me = commands.state().nodes().get(self.id());
    if (me != null && !me.runtimes().contains(name)) {
      // A runtime made on first use: placement may now send this node the app's slots.
      List<String> names = new ArrayList<>(me.runtimes());
      names.add(name);
      cluster.submit(new Command.RegisterNode(me.withRuntimes(names)));
    }
    return spec.runtime() != null ? spec : spec.toBuilder().runtime(name).build();
  }

  private final class AppHandle implements App {
    private final String name;

    AppHandle(String name) {
      this.name = name;
    }

    private AppRecord record() {
      AppRecord app = commands.state().apps().get(name);
      if (app == null) {
        throw new NotFoundException("the app '" + name + "' was deleted");
      }
      return app;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public AppSpec spec() {
      return record().spec();
    }

    @Override
    public List<Instance> instances() {
      return cluster.instances().stream().filter(i -> i.app().equals(name)).toList();
    }

    @Override
    public App scale(int replicas, WriteOptions options) {
      AppSpec.checkReplicas(replicas);
      cluster.submit(new Command.ScaleApp(name, replicas), options);
      events.publish(new HiveEvent(HiveEvent.Type.APP_SCALED, clock.instant(), name, null, null, "to " + replicas + " replicas"));
      return this;
    }

    @Override
    public App restart() {
      cluster.submit(new Command.RestartApp(name));
      events.publish(new HiveEvent(HiveEvent.Type.APP_RESTARTED, clock.instant(), name, null, null, "replacing instances one at a time"));
      return this;
    }

    @Override
    public App awaitHealthy(Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      Object signal = new Object();
      try (Subscription s = cluster.subscribe(e -> {
            synchronized (signal) {
              signal.notifyAll();
            }
          })) {
        while (true) {
          int desired = record().spec().replicas();
          List<Instance> current = instances();
          AppRecord rec = record();
          long ready = current.stream().filter(Instance::healthy).count();
          boolean allCurrent = rec.slots().values().stream().allMatch(slot -> slot.ready() && slot.generation() == rec.generation());
          if (ready == desired && current.size() == desired && allCurrent) {
            return this;
          }
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new HiveException("app '" + name + "' is not healthy after " + timeout.toSeconds() + " s: " + ready + " of " + desired
                + " instances healthy; not healthy: " + current.stream().filter(i -> !i.healthy()).map(i -> i.id() + " " + i.state() + " (" + i.reason() + ")").toList());
          }
          synchronized (signal) {
            signal.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 250)));
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new HiveException("interrupted while waiting for app '" + name + "'", e);
      }
    }

    @Override
    public List<String> logs(String instanceId, int lines) {
      Instance instance = cluster.instance(instanceId);
      if (!instance.app().equals(name)) {
        throw new NotFoundException("instance '" + instanceId + "' belongs to app '" + instance.app() + "', not '" + name + "'");
      }
      return cluster.logs(instanceId, lines);
    }

    @Override
    public String toString() {
      return "App{" + name + "}";
    }
  }
}
