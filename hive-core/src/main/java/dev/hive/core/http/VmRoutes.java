package dev.hive.core.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.Migration;
import dev.hive.api.MigrationMode;
import dev.hive.api.MigrationOptions;
import dev.hive.api.Vm;
import dev.hive.api.VmStatus;
import dev.hive.core.http.ApiServer.Request;
import dev.hive.core.http.ApiServer.Response;
import dev.hive.core.node.LocalCluster;
import dev.hive.core.state.VmSpecCodec;
import dev.hive.core.vm.VmService;
import java.time.Duration;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * VMs and migrations: {@code GET/POST /api/v1/vms} (a VM spec: {@code name}, {@code vcpus},
 * {@code memory} like {@code "256M"} or {@code memoryBytes}, {@code disks}, {@code kernel},
 * {@code initrd}, {@code cmdline}, {@code network}, {@code serialLog}, {@code node}), {@code GET}
 * and {@code DELETE /api/v1/vms/{name}}, {@code POST .../{name}/start|stop|suspend|resume},
 * {@code POST .../{name}/migrate} ({@code target}, {@code mode}, {@code maxDowntimeMs},
 * {@code bandwidthMiBps}, {@code autoConverge}, {@code postCopy}, {@code timeoutSeconds}) answers
 * 202 with the migration; {@code GET /api/v1/migrations[/{id}]}, {@code POST .../{id}/cancel}.
 */
final class VmRoutes {
  private static final Set<String> MIGRATE_FIELDS = Set.of("target", "mode", "maxDowntimeMs", "bandwidthMiBps", "autoConverge", "postCopy", "timeoutSeconds");

  private final LocalCluster cluster;
  private final ObjectMapper mapper;

  VmRoutes(LocalCluster cluster, ObjectMapper mapper) {
    this.cluster = cluster;
    this.mapper = mapper;
  }

  void register(ApiServer api) {
    api.route("GET", "/api/v1/vms", r -> {
      ArrayNode array = mapper.createArrayNode();
      cluster.vms().list().forEach(s -> array.add(json(s)));
      return new Response(200, array);
    });
    api.route("POST", "/api/v1/vms", r -> {
      Vm vm = cluster.vms().create(VmSpecCodec.fromJson(r.json(mapper)));
      return new Response(201, info(vm));
    });
    api.route("GET", "/api/v1/vms/{name}", r -> new Response(200, info(vm(r))));
    api.route("DELETE", "/api/v1/vms/{name}", r -> {
      vm(r).delete();
      return new Response(200, mapper.createObjectNode().put("deleted", r.params().get("name")));
    });
    api.route("POST", "/api/v1/vms/{name}/start", r -> act(r, "start"));
    api.route("POST", "/api/v1/vms/{name}/stop", r -> act(r, "stop"));
    api.route("POST", "/api/v1/vms/{name}/suspend", r -> act(r, "suspend"));
    api.route("POST", "/api/v1/vms/{name}/resume", r -> act(r, "resume"));
    api.route("POST", "/api/v1/vms/{name}/migrate", this::migrate);
    api.route("GET", "/api/v1/migrations", r -> {
      ArrayNode array = mapper.createArrayNode();
      cluster.vms().migrations().forEach(s -> array.add(VmService.encodeStatus(s)));
      return new Response(200, array);
    });
    api.route("GET", "/api/v1/migrations/{id}", r -> new Response(200, VmService.encodeStatus(cluster.vms().migration(r.params().get("id")).status())));
    api.route("POST", "/api/v1/migrations/{id}/cancel", r -> {
      Migration m = cluster.vms().migration(r.params().get("id"));
      m.cancel();
      return new Response(202, VmService.encodeStatus(m.status()));
    });
  }

  private Vm vm(Request r) {
    return cluster.vms().require(r.params().get("name"));
  }

  private Response act(Request r, String action) {
    Vm vm = vm(r);
    switch (action) {
      case "start" -> vm.start();
      case "stop" -> {
        long grace = 30_000;
        if (r.body().length > 0) {
          JsonNode body = r.json(mapper);
          if (body.has("graceSeconds")) {
            if (!body.get("graceSeconds").isIntegralNumber() || body.get("graceSeconds").asLong() < 0) {
              throw new InvalidSpecException("graceSeconds", "expected a whole number of seconds >= 0");
            }
            grace = body.get("graceSeconds").asLong() * 1000;
          }
        }
        vm.stop(Duration.ofMillis(grace));
      }
      case "suspend" -> vm.suspend();
      case "resume" -> vm.resume();
      default -> throw new IllegalStateException(action);
    }
    return new Response(200, info(vm));
  }

  private Response migrate(Request r) {
    Vm vm = vm(r);
    MigrateRequest request = migrateRequest(r.json(mapper));
    Migration m = vm.migrate(request.target(), request.mode(), request.options());
    return new Response(202, VmService.encodeStatus(m.status()));
  }

  /** What a migrate body asks for, checked before the VM is touched. */
  record MigrateRequest(String target, MigrationMode mode, MigrationOptions options) {}

  /**
   * Reads the body of {@code POST /api/v1/vms/{name}/migrate}.
   *
   * @throws InvalidSpecException naming the field at fault
   */
  static MigrateRequest migrateRequest(JsonNode body) {
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!MIGRATE_FIELDS.contains(field)) {
        throw new InvalidSpecException(field, "unknown field; a migration takes " + String.join(", ", new java.util.TreeSet<>(MIGRATE_FIELDS)));
      }
    }
    if (!body.path("target").isTextual()) {
      throw new InvalidSpecException("target", "expected the target node's id or name");
    }
    String modeText = body.path("mode").asText("LIVE").toUpperCase(Locale.ROOT);
    MigrationMode mode;
    try {
      mode = MigrationMode.valueOf(modeText);
    } catch (IllegalArgumentException e) {
      throw new InvalidSpecException("mode", "'" + body.path("mode").asText() + "' is not a mode; use cold, warm or live");
    }
    MigrationOptions.Builder options = MigrationOptions.builder();
    if (body.has("maxDowntimeMs")) {
      options.maxDowntime(Duration.ofMillis(number(body, "maxDowntimeMs")));
    }
    if (body.has("bandwidthMiBps")) {
      options.bandwidthMiBps(number(body, "bandwidthMiBps"));
    }
    if (body.has("autoConverge")) {
      options.autoConverge(bool(body, "autoConverge"));
    }
    if (body.has("postCopy")) {
      options.postCopy(bool(body, "postCopy"));
    }
    if (body.has("timeoutSeconds")) {
      options.timeout(Duration.ofSeconds(number(body, "timeoutSeconds")));
    }
    return new MigrateRequest(body.get("target").asText(), mode, options.build());
  }

  private static long number(JsonNode body, String field) {
    if (!body.get(field).isIntegralNumber()) {
      throw new InvalidSpecException(field, "expected a whole number");
    }
    return body.get(field).asLong();
  }

  private static boolean bool(JsonNode body, String field) {
    if (!body.get(field).isBoolean()) {
      throw new InvalidSpecException(field, "expected true or false");
    }
    return body.get(field).asBoolean();
  }

  private ObjectNode info(Vm vm) {
    ObjectNode o = json(vm.status());
    o.set("spec", VmSpecCodec.toJson(mapper, vm.spec()));
    return o;
  }

  private ObjectNode json(VmStatus s) {
    return mapper.createObjectNode().put("name", s.name()).put("node", s.node()).put("state", s.state().name()).put("vcpus", s.vcpus())
        .put("memoryBytes", s.memoryBytes()).put("cpuTimeNanos", s.cpuTimeNanos()).put("blockReadBytes", s.blockReadBytes())
        .put("blockWriteBytes", s.blockWriteBytes()).put("netRxBytes", s.netRxBytes()).put("netTxBytes", s.netTxBytes())
        .put("migration", s.migration());
  }
}
