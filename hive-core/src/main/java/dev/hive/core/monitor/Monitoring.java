package dev.hive.core.monitor;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.HiveEvent;
import dev.hive.core.reconcile.InstanceRecord;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.WorkloadRuntime;
import dev.hive.spi.WorkloadStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's monitoring: it samples the node (OSHI) and its instances (their runtimes) every
 * {@code hive.metrics.interval} (10s) into a history of {@code hive.metrics.history} samples (360),
 * keeps the Prometheus registry behind {@code GET /metrics}, counts Hive's own work (placements,
 * restarts, heals, events), and, when {@code MONITORING_API_URL} (or {@code hive.monitoring.url})
 * is set, pushes each sample to that API.
 */
public final class Monitoring {
  private static final Logger log = LoggerFactory.getLogger(Monitoring.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String nodeId;
  private final String nodeName;
  private final Clock clock;
  private final Duration interval;
  private final NodeMonitor node;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter placements;
  private final Counter restarts;
  private final Counter heals;
  private final Map<String, Meter[]> dynamicMeters = new ConcurrentHashMap<>();
  private final MonitoringExporter exporter;
  private volatile Map<String, InstanceSample> instances = Map.of();
  private volatile NodeSample latest;

  private Monitoring(String nodeId, String nodeName, Clock clock, Duration interval, NodeMonitor node, MonitoringExporter exporter) {
    this.nodeId = nodeId;
    this.nodeName = nodeName;
    this.clock = clock;
    this.interval = interval;
    this.node = node;
    this.exporter = exporter;
    Tags nodeTags = Tags.of("node", nodeName);
    registry.config().commonTags(nodeTags);
    placements = Counter.builder("hive.placements").description("replica slots placed on a node by this node as leader").register(registry);
    restarts = Counter.builder("hive.restarts").description("instances started again on this node after they exited or failed").register(registry);
    heals = Counter.builder("hive.heals").description("replica slots released from a lost node by this node as leader, to be placed again")
        .register(registry);
    gauge("hive.node.cpu.usage", null, "fraction of all cores busy", NodeSample::cpuUsage);
    gauge("hive.node.load1", null, "1-minute load average", NodeSample::load1);
    gauge("hive.node.load5", null, "5-minute load average", NodeSample::load5);
    gauge("hive.node.load15", null, "15-minute load average", NodeSample::load15);
    gauge("hive.node.memory.total", "bytes", "physical memory, or the cgroup limit when lower", s -> s.memoryTotalBytes());
    gauge("hive.node.memory.available", "bytes", "memory available to new work", s -> s.memoryAvailableBytes());
    gauge("hive.node.swap.total", "bytes", "swap space", s -> s.swapTotalBytes());
    gauge("hive.node.swap.used", "bytes", "swap in use", s -> s.swapUsedBytes());
    gauge("hive.node.uptime", "seconds", "seconds since boot", s -> s.uptimeSeconds());
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
  }

  /**
   * Starts monitoring as configured; the exporter too when a URL is given.
   *
   * @throws dev.hive.api.InvalidSpecException if a setting is malformed
   */
  public static Monitoring create(ProviderConfig settings, String nodeId, String nodeName, Map<String, String> env) {
    Duration interval = settings.duration("hive.metrics.interval", Duration.ofSeconds(10));
    int history = Integer.parseInt(settings.setting("hive.metrics.history").orElse("360"));
    MonitoringExporter exporter = null;
    String url = settings.setting("hive.monitoring.url").orElse(env.get("MONITORING_API_URL"));
    if (url != null && !url.isBlank()) {
      String key = settings.setting("hive.monitoring.key").orElse(env.getOrDefault("MONITORING_API_KEY", ""));
      Duration every = settings.setting("hive.monitoring.interval").isPresent() ? settings.duration("hive.monitoring.interval", interval)
          : env.containsKey("MONITORING_INTERVAL") ? Duration.ofSeconds(Long.parseLong(env.get("MONITORING_INTERVAL").trim())) : interval;
      exporter = new MonitoringExporter(url, key, every, Integer.parseInt(settings.setting("hive.monitoring.buffer").orElse("100")), settings.clock());
      log.info("pushing metrics to {} every {} s", url, every.toSeconds());
    }
    return new Monitoring(nodeId, nodeName, settings.clock(), interval, new NodeMonitor(settings.clock(), history), exporter);
  }

  public Duration interval() {
    return interval;
  }

  public Optional<MonitoringExporter> exporter() {
    return Optional.ofNullable(exporter);
  }

  private void gauge(String name, String unit, String description, ToDoubleFunction<NodeSample> value) {
    Gauge.builder(name, this, m -> m.latest == null ? Double.NaN : value.applyAsDouble(m.latest)).baseUnit(unit).description(description)
        .register(registry);
  }

  /** Counts an event the node published. */
  public void count(HiveEvent event) {
    if (event.type() == HiveEvent.Type.INSTANCE_RESTARTED) {
      restarts.increment();
    }
    registry.counter("hive.events", "type", event.type().name()).increment();
  }

  public void placed(int slots) {
    placements.increment(slots);
  }

  public void healed(int slots) {
    heals.increment(slots);
  }

  /** Counts, from {@code count}, the reconcile passes that left a runtime's workloads alone because it did not answer. */
  public void countRuntimeSkips(java.util.function.LongSupplier count) {
    FunctionCounter.builder("hive.reconcile.runtime.unanswered", count, c -> (double) c.getAsLong())
        .description("reconcile passes that left a runtime's workloads alone because the runtime did not answer").register(registry);
  }

  /** Samples the node and its running instances; returns the node sample. */
  public NodeSample sample(List<InstanceRecord> records, Function<String, WorkloadRuntime> runtimes) {
    NodeSample sample = node.sample();
    latest = sample;
    Map<String, InstanceSample> previous = instances;
    Map<String, InstanceSample> next = new LinkedHashMap<>();
    for (InstanceRecord r : records) {
      if (!r.state.isRunning()) {
        continue;
      }
      try {
        Optional<WorkloadStats> stats = runtimes.apply(r.runtime).stats(r.id);
        if (stats.isEmpty()) {
          continue;
        }
        WorkloadStats s = stats.get();
        double cpuSeconds = s.cpuNanos() / 1e9;
        InstanceSample before = previous.get(r.id);
        long now = clock.millis();
        double cores = before == null || now <= before.atMillis() ? 0 : Math.max(0, (cpuSeconds - before.cpuSeconds()) * 1000.0 / (now - before.atMillis()));
        next.put(r.id, new InstanceSample(r.app, r.id, nodeId, now, cpuSeconds, cores, s.memoryBytes(), s.networkRxBytes(), s.networkTxBytes()));
      } catch (RuntimeException e) {
        log.debug("no stats for {}: {}", r.id, e.getMessage());
      }
    }
    instances = Map.copyOf(next);
    syncDynamicMeters(sample, next);
    if (exporter != null) {
      exporter.tick(() -> batch(sample, next.values()));
    }
    return sample;
  }

  /** Meters for things that come and go: interfaces, file systems, disks, instances. */
  private void syncDynamicMeters(NodeSample sample, Map<String, InstanceSample> byInstance) {
    Map<String, Runnable> wanted = new HashMap<>();
    for (NodeSample.Interface nic : sample.interfaces()) {
      String device = nic.name();
      wanted.put("nic:" + device, () -> dynamicMeters.put("nic:" + device, new Meter[] {
          nodeCounter("hive.node.network.receive", "bytes", Tags.of("device", device), s -> nic(s, device).map(NodeSample.Interface::rxBytes)),
          nodeCounter("hive.node.network.transmit", "bytes", Tags.of("device", device), s -> nic(s, device).map(NodeSample.Interface::txBytes)),
          nodeCounter("hive.node.network.receive.packets", null, Tags.of("device", device), s -> nic(s, device).map(NodeSample.Interface::rxPackets)),
          nodeCounter("hive.node.network.transmit.packets", null, Tags.of("device", device), s -> nic(s, device).map(NodeSample.Interface::txPackets)),
          nodeCounter("hive.node.network.receive.errors", null, Tags.of("device", device), s -> nic(s, device).map(NodeSample.Interface::rxErrors)),
          nodeCounter("hive.node.network.transmit.errors", null, Tags.of("device", device), s -> nic(s, device).map(NodeSample.Interface::txErrors))}));
    }
    for (NodeSample.FileSystem fs : sample.fileSystems()) {
      String mount = fs.mount();
      Tags tags = Tags.of("mountpoint", mount, "fstype", fs.type(), "device", fs.device());
      wanted.put("fs:" + mount, () -> dynamicMeters.put("fs:" + mount, new Meter[] {
          Gauge.builder("hive.node.filesystem.size", this, m -> fs(m.latest, mount).map(f -> (double) f.totalBytes()).orElse(Double.NaN))
              .baseUnit("bytes").tags(tags).register(registry),
          Gauge.builder("hive.node.filesystem.avail", this, m -> fs(m.latest, mount).map(f -> (double) f.usableBytes()).orElse(Double.NaN))
              .baseUnit("bytes").tags(tags).register(registry)}));
    }
    for (NodeSample.Disk disk : sample.disks()) {
      String device = disk.name();
      wanted.put("disk:" + device, () -> dynamicMeters.put("disk:" + device, new Meter[] {
          nodeCounter("hive.node.disk.read", "bytes", Tags.of("device", device), s -> disk(s, device).map(NodeSample.Disk::readBytes)),
          nodeCounter("hive.node.disk.written", "bytes", Tags.of("device", device), s -> disk(s, device).map(NodeSample.Disk::writeBytes)),
          nodeCounter("hive.node.disk.reads.completed", null, Tags.of("device", device), s -> disk(s, device).map(NodeSample.Disk::reads)),
          nodeCounter("hive.node.disk.writes.completed", null, Tags.of("device", device), s -> disk(s, device).map(NodeSample.Disk::writes))}));
    }
    for (InstanceSample i : byInstance.values()) {
      String id = i.instance();
      Tags tags = Tags.of("app", i.app(), "instance", id);
      wanted.put("instance:" + id, () -> {
        List<Meter> meters = new ArrayList<>(List.of(
            FunctionCounter.builder("hive.instance.cpu", this, m -> instanceValue(m, id, InstanceSample::cpuSeconds)).baseUnit("seconds").tags(tags)
                .description("CPU time the instance used").register(registry),
            Gauge.builder("hive.instance.memory", this, m -> instanceValue(m, id, s -> s.memoryBytes())).baseUnit("bytes").tags(tags)
                .description("memory the instance uses").register(registry)));
        // Only runtimes that see an instance's own network (containers) report it; a process shares the host's.
        if (i.networkRxBytes() >= 0) {
          meters.add(FunctionCounter.builder("hive.instance.network.receive", this, m -> instanceValue(m, id, s -> s.networkRxBytes()))
              .baseUnit("bytes").tags(tags).register(registry));
          meters.add(FunctionCounter.builder("hive.instance.network.transmit", this, m -> instanceValue(m, id, s -> s.networkTxBytes()))
              .baseUnit("bytes").tags(tags).register(registry));
        }
        dynamicMeters.put("instance:" + id, meters.toArray(Meter[]::new));
      });
    }
    for (String key : new ArrayList<>(dynamicMeters.keySet())) {
      if (!wanted.containsKey(key)) {
        for (Meter m : dynamicMeters.remove(key)) {
          registry.remove(m);
        }
      }
    }
    wanted.forEach((key, register) -> {
      if (!dynamicMeters.containsKey(key)) {
        register.run();
      }
    });
  }

  private static double instanceValue(Monitoring m, String id, ToDoubleFunction<InstanceSample> f) {
    InstanceSample s = m.instances.get(id);
    double v = s == null ? Double.NaN : f.applyAsDouble(s);
    return v < 0 ? Double.NaN : v;
  }

  private Meter nodeCounter(String name, String unit, Tags tags, Function<NodeSample, Optional<Long>> value) {
    return FunctionCounter.builder(name, this, m -> m.latest == null ? Double.NaN : value.apply(m.latest).map(Long::doubleValue).orElse(Double.NaN))
        .baseUnit(unit).tags(tags).register(registry);
  }

  private static Optional<NodeSample.Interface> nic(NodeSample s, String name) {
    return s.interfaces().stream().filter(i -> i.name().equals(name)).findFirst();
  }

  private static Optional<NodeSample.FileSystem> fs(NodeSample s, String mount) {
    return s == null ? Optional.empty() : s.fileSystems().stream().filter(f -> f.mount().equals(mount)).findFirst();
  }

  private static Optional<NodeSample.Disk> disk(NodeSample s, String name) {
    return s.disks().stream().filter(d -> d.name().equals(name)).findFirst();
  }

  private byte[] batch(NodeSample sample, java.util.Collection<InstanceSample> byInstance) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("node", nodeId);
    body.put("name", nodeName);
    body.put("system", node.system());
    body.put("sample", NodeMonitor.describe(sample));
    body.put("instances", List.copyOf(byInstance));
    try {
      return JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode a metrics batch", e);
    }
  }

  /** Returns the Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }

  public NodeMonitor node() {
    return node;
  }

  public Optional<NodeSample> latest() {
    return Optional.ofNullable(latest);
  }

  /** Returns this node's instances' latest samples. */
  public Map<String, InstanceSample> instances() {
    return instances;
  }

  /** The summary that rides membership gossip, so every node sees every node's load. */
  public Map<String, String> gossipSummary() {
    NodeSample s = latest;
    if (s == null) {
      return Map.of();
    }
    return Map.of("load.cpu", String.format(java.util.Locale.ROOT, "%.3f", s.cpuUsage()),
        "load.mem", String.format(java.util.Locale.ROOT, "%.3f", s.memoryUsage()),
        "load.avg1", String.format(java.util.Locale.ROOT, "%.2f", s.load1()),
        "load.at", Long.toString(s.atMillis()));
  }
}
