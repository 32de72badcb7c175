package dev.hive.core.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.App;
import dev.hive.api.NotFoundException;
import dev.hive.core.http.ApiServer.Response;
import dev.hive.core.monitor.InstanceSample;
import dev.hive.core.node.LocalCluster;
import java.util.List;

/**
 * Metrics: Prometheus' {@code GET /metrics}, and Omni Orchestrator's per-app and per-instance
 * views of CPU and memory.
 */
final class MetricsRoutes {
  /** The Prometheus text format, version 0.0.4. */
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final LocalCluster cluster;
  private final ObjectMapper mapper;

  MetricsRoutes(LocalCluster cluster, ObjectMapper mapper) {
    this.cluster = cluster;
    this.mapper = mapper;
  }

  void register(ApiServer api) {
    api.route("GET", "/metrics", api.security().openMetrics() ? ApiServer.OPEN : "read", r -> Response.text(cluster.prometheusText(), PROMETHEUS_TEXT));
    api.route("GET", "/api/v1/apps/{name}/metrics", r -> new Response(200, appMetrics(cluster.apps().require(r.params().get("name")))));
    api.route("GET", "/api/v1/apps/{name}/instances/{id}/metrics", r -> {
      App app = cluster.apps().require(r.params().get("name"));
      String id = r.params().get("id");
      InstanceSample sample = samplesOf(app).stream().filter(s -> s.instance().equals(id)).findFirst().orElseThrow(() -> new NotFoundException(
          "no metrics for instance '" + id + "' of app '" + app.name() + "': it is not running, or not sampled yet; `hive app containers --name "
              + app.name() + "` lists the instances"));
      return new Response(200, mapper.valueToTree(sample));
    });
  }

  private List<InstanceSample> samplesOf(App app) {
    return cluster.instanceMetrics().stream().filter(s -> s.app().equals(app.name())).toList();
  }

  private ObjectNode appMetrics(App app) {
    List<InstanceSample> samples = samplesOf(app);
    ObjectNode o = mapper.createObjectNode();
    o.put("app", app.name());
    o.put("instances", samples.size());
    o.put("cpuCores", Math.round(samples.stream().mapToDouble(InstanceSample::cpuCores).sum() * 1000) / 1000.0);
    o.put("cpuSeconds", samples.stream().mapToDouble(InstanceSample::cpuSeconds).sum());
    o.put("memoryBytes", samples.stream().mapToLong(InstanceSample::memoryBytes).sum());
    o.put("networkRxBytes", knownSum(samples.stream().mapToLong(InstanceSample::networkRxBytes).toArray()));
    o.put("networkTxBytes", knownSum(samples.stream().mapToLong(InstanceSample::networkTxBytes).toArray()));
    ArrayNode each = o.putArray("perInstance");
    samples.forEach(s -> each.add(mapper.valueToTree(s)));
    return o;
  }

  /** Sums the values a runtime knows (-1: it cannot tell, e.g. a process shares the host's network); -1 if none. */
  private static long knownSum(long[] values) {
    long sum = -1;
    for (long v : values) {
      if (v >= 0) {
        sum = Math.max(sum, 0) + v;
      }
    }
    return sum;
  }
}
