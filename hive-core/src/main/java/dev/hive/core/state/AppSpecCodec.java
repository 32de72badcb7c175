package dev.hive.core.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.AppSpec;
import dev.hive.api.HealthCheck;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.PortSpec;
import dev.hive.api.RestartPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * AppSpec to and from JSON, for the REST API and the command log alike. Reading is strict: an
 * unknown field or a value of the wrong type is refused, naming the field, because a misspelt
 * field silently ignored is a deploy that does not do what its author meant.
 */
public final class AppSpecCodec {
  private static final Set<String> FIELDS =
      Set.of("name", "command", "image", "runtime", "replicas", "cpus", "memory", "memoryBytes", "ports", "env", "healthCheck", "restart",
          "restartLimit", "stateful", "strategy", "antiAffinity", "constraints", "tolerations", "entrypoint", "args", "labels", "service",
          "servicePort");
  private static final Set<String> HEALTH_FIELDS =
      Set.of("type", "path", "command", "intervalMs", "timeoutMs", "healthyThreshold", "unhealthyThreshold");

  private AppSpecCodec() {}

  /** Writes the spec as JSON. */
  public static ObjectNode toJson(ObjectMapper mapper, AppSpec spec) {
    ObjectNode o = mapper.createObjectNode();
    o.put("name", spec.name());
    if (spec.command() != null) {
      o.put("command", spec.command());
    }
    if (spec.image() != null) {
      o.put("image", spec.image());
    }
    if (spec.runtime() != null) {
      o.put("runtime", spec.runtime());
    }
    o.put("replicas", spec.replicas());
    o.put("cpus", spec.cpus());
    o.put("memoryBytes", spec.memoryBytes());
    ArrayNode ports = o.putArray("ports");
    for (PortSpec p : spec.ports()) {
      ObjectNode po = ports.addObject().put("name", p.name()).put("port", p.port());
      if (p.hostPort() > 0) {
        po.put("hostPort", p.hostPort());
      }
    }
    ObjectNode env = o.putObject("env");
    spec.env().forEach(env::put);
    HealthCheck h = spec.healthCheck();
    if (h != null) {
      ObjectNode hc = o.putObject("healthCheck");
      hc.put("type", h.type().name().toLowerCase(Locale.ROOT));
      if (h.path() != null) {
        hc.put("path", h.path());
      }
      if (!h.command().isEmpty()) {
        ArrayNode cmd = hc.putArray("command");
        h.command().forEach(cmd::add);
      }
      hc.put("intervalMs", h.interval().toMillis());
      hc.put("timeoutMs", h.timeout().toMillis());
      hc.put("healthyThreshold", h.healthyThreshold());
      hc.put("unhealthyThreshold", h.unhealthyThreshold());
    }
    o.put("restart", spec.restartPolicy().label());
    o.put("restartLimit", spec.restartLimit());
    o.put("stateful", spec.stateful());
    o.put("strategy", spec.strategy().label());
    o.put("antiAffinity", spec.antiAffinity());
    ObjectNode constraints = o.putObject("constraints");
    spec.constraints().forEach(constraints::put);
    spec.tolerations().forEach(o.putArray("tolerations")::add);
    if (spec.entrypoint() != null) {
      spec.entrypoint().forEach(o.putArray("entrypoint")::add);
    }
    if (spec.args() != null) {
      spec.args().forEach(o.putArray("args")::add);
    }
    ObjectNode labels = o.putObject("labels");
    spec.labels().forEach(labels::put);
    if (spec.service() != null) {
      o.put("service", spec.service());
      o.put("servicePort", spec.servicePort());
    }
    return o;
  }

  /**
   * Reads a spec from JSON.
   *
   * @throws InvalidSpecException naming the field at fault
   */
  public static AppSpec fromJson(JsonNode json) {
    if (json == null || !json.isObject()) {
      throw new InvalidSpecException("body", "expected a JSON object describing the app, e.g. {\"name\":\"web\",\"command\":\"...\"}");
    }
    rejectUnknown(json, FIELDS, "");
    AppSpec.Builder b = AppSpec.builder(text(json, "name"));
    if (json.hasNonNull("command")) {
      b.command(text(json, "command"));
    }
    if (json.hasNonNull("image")) {
      b.image(text(json, "image"));
    }
    if (json.hasNonNull("runtime")) {
      b.runtime(text(json, "runtime"));
    }
    if (json.hasNonNull("replicas")) {
      b.replicas(integer(json, "replicas"));
    }
    if (json.hasNonNull("cpus")) {
      JsonNode cpus = json.get("cpus");
      if (!cpus.isNumber()) {
        throw new InvalidSpecException("cpus", "expected a number of cores such as 0.5, got " + cpus);
      }
      b.cpus(cpus.asDouble());
    }
    if (json.hasNonNull("memoryBytes")) {
      JsonNode m = json.get("memoryBytes");
      if (!m.canConvertToLong()) {
        throw new InvalidSpecException("memoryBytes", "expected a whole number of bytes, got " + m);
      }
      b.memoryBytes(m.asLong());
    }
    if (json.hasNonNull("memory")) {
      JsonNode m = json.get("memory");
      b.memoryBytes(m.isNumber() ? m.asLong() : Sizes.parseBytes("memory", m.asText()));
    }
    if (json.hasNonNull("ports")) {
      JsonNode ports = json.get("ports");
      if (!ports.isArray()) {
        throw new InvalidSpecException("ports", "expected an array such as [8080] or [{\"name\":\"http\",\"port\":8080}]");
      }
      for (JsonNode p : ports) {
        if (p.isInt()) {
          b.port(PortSpec.of(p.asInt()));
        } else if (p.isTextual()) {
          b.port(PortSpec.parse(p.asText()));
        } else if (p.isObject()) {
          rejectUnknown(p, Set.of("name", "port", "hostPort"), "ports.");
          int port = integer(p, "port");
          PortSpec spec = p.hasNonNull("name") ? PortSpec.of(text(p, "name"), port) : PortSpec.of(port);
          b.port(p.hasNonNull("hostPort") ? spec.withHostPort(integer(p, "hostPort")) : spec);
        } else {
          throw new InvalidSpecException("ports", "'" + p + "' is not a port; use 8080, \"http:8080\" or {\"name\":\"http\",\"port\":8080}");
        }
      }
    }
    if (json.hasNonNull("env")) {
      JsonNode env = json.get("env");
      if (!env.isObject()) {
        throw new InvalidSpecException("env", "expected an object of strings, e.g. {\"MODE\":\"prod\"}");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = env.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isValueNode()) {
          throw new InvalidSpecException("env", "the value of '" + e.getKey() + "' must be a string");
        }
        b.env(e.getKey(), e.getValue().asText());
      }
    }
    if (json.hasNonNull("healthCheck")) {
      b.healthCheck(healthCheck(json.get("healthCheck")));
    }
    if (json.hasNonNull("restart")) {
      b.restartPolicy(RestartPolicy.parse(text(json, "restart")));
    }
    if (json.hasNonNull("restartLimit")) {
      b.restartLimit(integer(json, "restartLimit"));
    }
    if (json.hasNonNull("stateful")) {
      b.stateful(bool(json, "stateful"));
    }
    if (json.hasNonNull("strategy")) {
      b.strategy(dev.hive.api.PlacementStrategy.parse(text(json, "strategy")));
    }
    if (json.hasNonNull("antiAffinity")) {
      b.antiAffinity(bool(json, "antiAffinity"));
    }
    if (json.hasNonNull("constraints")) {
      JsonNode c = json.get("constraints");
      if (!c.isObject()) {
        throw new InvalidSpecException("constraints", "expected an object of labels, e.g. {\"zone\":\"a\"}");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isTextual()) {
          throw new InvalidSpecException("constraints", "the value of '" + e.getKey() + "' must be a string");
        }
        b.constraint(e.getKey(), e.getValue().asText());
      }
    }
    if (json.hasNonNull("tolerations")) {
      JsonNode t = json.get("tolerations");
      if (!t.isArray()) {
        throw new InvalidSpecException("tolerations", "expected an array such as [\"dedicated=db\"]");
      }
      t.forEach(v -> b.toleration(v.isTextual() ? v.asText() : v.toString()));
    }
    if (json.hasNonNull("entrypoint")) {
      b.entrypoint(strings(json, "entrypoint"));
    }
    if (json.hasNonNull("args")) {
      b.args(strings(json, "args"));
    }
    if (json.hasNonNull("labels")) {
      JsonNode l = json.get("labels");
      if (!l.isObject()) {
        throw new InvalidSpecException("labels", "expected an object of labels, e.g. {\"app\":\"web\"}");
      }
      l.fields().forEachRemaining(e -> {
        if (!e.getValue().isTextual()) {
          throw new InvalidSpecException("labels", "the value of '" + e.getKey() + "' must be a string");
        }
        b.label(e.getKey(), e.getValue().asText());
      });
    }
    if (json.hasNonNull("service")) {
      b.service(text(json, "service"), json.hasNonNull("servicePort") ? integer(json, "servicePort") : 0);
    }
    return b.build();
  }

  private static List<String> strings(JsonNode json, String field) {
    JsonNode a = json.get(field);
    if (!a.isArray()) {
      throw new InvalidSpecException(field, "expected an array of strings, e.g. [\"httpd\", \"-f\"]");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode v : a) {
      if (!v.isValueNode()) {
        throw new InvalidSpecException(field, "'" + v + "' is not a string");
      }
      out.add(v.asText());
    }
    return out;
  }

  private static HealthCheck healthCheck(JsonNode h) {
    if (!h.isObject()) {
      throw new InvalidSpecException("healthCheck", "expected an object such as {\"type\":\"http\",\"path\":\"/\"}");
    }
    rejectUnknown(h, HEALTH_FIELDS, "healthCheck.");
    String type = h.hasNonNull("type") ? h.get("type").asText().toLowerCase(Locale.ROOT) : "";
    HealthCheck check;
    switch (type) {
      case "http":
        check = HealthCheck.http(h.hasNonNull("path") ? h.get("path").asText() : "/");
        break;
      case "tcp":
        check = HealthCheck.tcp();
        break;
      case "exec":
        JsonNode cmd = h.get("command");
        if (cmd == null || !cmd.isArray()) {
          throw new InvalidSpecException("healthCheck.command", "an exec check needs a command array, e.g. [\"test\",\"-f\",\"/tmp/ready\"]");
        }
        List<String> argv = new ArrayList<>();
        cmd.forEach(a -> argv.add(a.asText()));
        check = HealthCheck.exec(argv);
        break;
      default:
        throw new InvalidSpecException("healthCheck.type", "'" + type + "' is not a check type; use http, tcp or exec");
    }
    if (h.hasNonNull("intervalMs")) {
      check = check.withInterval(Duration.ofMillis(longValue(h, "intervalMs")));
    }
    if (h.hasNonNull("timeoutMs")) {
      check = check.withTimeout(Duration.ofMillis(longValue(h, "timeoutMs")));
    }
    if (h.hasNonNull("healthyThreshold") || h.hasNonNull("unhealthyThreshold")) {
      int healthy = h.hasNonNull("healthyThreshold") ? integer(h, "healthyThreshold") : check.healthyThreshold();
      int unhealthy = h.hasNonNull("unhealthyThreshold") ? integer(h, "unhealthyThreshold") : check.unhealthyThreshold();
      check = check.withThresholds(healthy, unhealthy);
    }
    return check;
  }

  private static void rejectUnknown(JsonNode o, Set<String> known, String prefix) {
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!known.contains(f)) {
        throw new InvalidSpecException(prefix + f, "unknown field; known fields are " + new java.util.TreeSet<>(known));
      }
    }
  }

  static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new InvalidSpecException(field, "expected a string, got " + v);
    }
    return v.asText();
  }

  private static boolean bool(JsonNode o, String field) {
    JsonNode v = o.get(field);
    if (!v.isBoolean()) {
      throw new InvalidSpecException(field, "expected true or false, got " + v);
    }
    return v.asBoolean();
  }

  static int integer(JsonNode o, String field) {
    JsonNode v = o.get(field);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
      throw new InvalidSpecException(field, "expected a whole number, got " + v);
    }
    return v.asInt();
  }

  private static long longValue(JsonNode o, String field) {
    JsonNode v = o.get(field);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
      throw new InvalidSpecException(field, "expected a whole number, got " + v);
    }
    return v.asLong();
  }
}
