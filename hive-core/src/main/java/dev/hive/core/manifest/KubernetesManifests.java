package dev.hive.core.manifest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.hive.api.AppSpec;
import dev.hive.api.HealthCheck;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.PortSpec;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kubernetes {@code apps/v1} Deployments and StatefulSets, and {@code v1} Services, read as Hive
 * apps. What maps: replicas, the first container's image, command (the entrypoint), args, env,
 * ports, resources, one probe (readiness, else liveness: httpGet, tcpSocket, exec), pod labels,
 * nodeSelector, tolerations, required pod anti-affinity on the host name; a Service selecting an
 * app's labels gives it its service name and port. Every field that does not map is named in a
 * warning; a kind Hive does not run is refused by name. Nothing is deployed here: the caller
 * deploys only once the whole file has been read without error.
 */
public final class KubernetesManifests {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** Apps read from a file, with the warnings about what they leave out. */
  public record Result(List<AppSpec> apps, List<String> warnings) {}

  /** Which workload kinds a route takes. */
  public enum Accept {
    /** Deployments only (Beemesh's {@code /v1/workloads/stateless}). */
    STATELESS,
    /** StatefulSets only (Beemesh's {@code /v1/workloads/stateful}). */
    STATEFUL,
    /** Both. */
    ANY
  }

  private KubernetesManifests() {}

  /**
   * Reads every document of a YAML file.
   *
   * @throws InvalidSpecException naming the document, line and column, or the field at fault
   */
  public static Result read(String yaml, Accept accept) {
    List<JsonNode> documents = documents(yaml);
    List<String> warnings = new ArrayList<>();
    List<AppSpec> apps = new ArrayList<>();
    List<Map<String, String>> podLabels = new ArrayList<>();
    List<JsonNode> services = new ArrayList<>();
    for (int d = 0; d < documents.size(); d++) {
      JsonNode doc = documents.get(d);
      if (doc == null || doc.isNull() || doc.isMissingNode()) {
        continue;
      }
      String where = "document " + (d + 1);
      if (!doc.isObject()) {
        throw new InvalidSpecException("manifest", where + " is not a mapping with apiVersion and kind");
      }
      String kind = doc.path("kind").asText("");
      String apiVersion = doc.path("apiVersion").asText("");
      String name = doc.path("metadata").path("name").asText("");
      where = where + " (" + (kind.isEmpty() ? "no kind" : kind) + (name.isEmpty() ? "" : " " + name) + ")";
      switch (kind) {
        case "Deployment", "StatefulSet" -> {
          requireVersion(where, apiVersion, "apps/v1");
          boolean stateful = kind.equals("StatefulSet");
          if (accept == Accept.STATELESS && stateful) {
            throw new InvalidSpecException("kind", where + ": a StatefulSet goes to /v1/workloads/stateful (or `hive app apply`), not the stateless route");
          }
          if (accept == Accept.STATEFUL && !stateful) {
            throw new InvalidSpecException("kind", where + ": a Deployment goes to /v1/workloads/stateless (or `hive app apply`), not the stateful route");
          }
          Map<String, String> labels = new LinkedHashMap<>();
          apps.add(workload(where, doc, stateful, labels, warnings));
          podLabels.add(labels);
        }
        case "Service" -> {
          requireVersion(where, apiVersion, "v1");
          services.add(doc);
        }
        case "" -> throw new InvalidSpecException("kind", where + " has no kind; Hive runs Deployment and StatefulSet (apps/v1) and reads Service (v1)");
        default -> throw new InvalidSpecException("kind", where + ": kind " + kind + (apiVersion.isEmpty() ? "" : " (" + apiVersion + ")")
            + " is not something Hive runs; it runs Deployment and StatefulSet (apps/v1) and reads Service (v1)");
      }
    }
    for (JsonNode service : services) {
      bindService(service, apps, podLabels, warnings);
    }
    if (apps.isEmpty()) {
      throw new InvalidSpecException("manifest", "the file holds no Deployment or StatefulSet");
    }
    Set<String> names = new java.util.HashSet<>();
    for (AppSpec a : apps) {
      if (!names.add(a.name())) {
        throw new InvalidSpecException("metadata.name", "two workloads in the file are named '" + a.name() + "'");
      }
    }
    return new Result(List.copyOf(apps), List.copyOf(warnings));
  }

  private static List<JsonNode> documents(String yaml) {
    List<JsonNode> out = new ArrayList<>();
    try (JsonParser parser = YAML.getFactory().createParser(yaml)) {
      MappingIterator<JsonNode> it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNextValue()) {
        out.add(it.nextValue());
      }
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String position = at == null ? "" : "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": ";
      throw new InvalidSpecException("manifest", "malformed YAML at " + position + e.getOriginalMessage().lines().findFirst().orElse(""));
    } catch (IOException | RuntimeException e) {
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      throw new InvalidSpecException("manifest", "malformed YAML: " + message.lines().findFirst().orElse(""));
    }
    return out;
  }

  private static void requireVersion(String where, String apiVersion, String wanted) {
    if (!apiVersion.equals(wanted)) {
      throw new InvalidSpecException("apiVersion", where + " has apiVersion '" + apiVersion + "'; Hive reads " + wanted);
    }
  }

  private static final Set<String> TOP = Set.of("apiVersion", "kind", "metadata", "spec", "status");
  private static final Set<String> METADATA = Set.of("name", "namespace", "labels", "annotations");
  private static final Set<String> WORKLOAD_SPEC = Set.of("replicas", "selector", "template", "serviceName", "strategy", "revisionHistoryLimit",
      "podManagementPolicy", "updateStrategy", "minReadySeconds", "progressDeadlineSeconds");
  private static final Set<String> POD_SPEC = Set.of("containers", "nodeSelector", "affinity", "tolerations", "restartPolicy",
      "terminationGracePeriodSeconds");
  private static final Set<String> CONTAINER = Set.of("name", "image", "command", "args", "env", "ports", "resources", "readinessProbe",
      "livenessProbe", "imagePullPolicy");
  private static final Set<String> PROBE = Set.of("httpGet", "tcpSocket", "exec", "periodSeconds", "timeoutSeconds", "successThreshold",
      "failureThreshold", "initialDelaySeconds");

  /** Names every field of {@code node} outside {@code known} as a warning. */
  private static void warnUnknown(JsonNode node, Set<String> known, String path, String where, List<String> warnings) {
    node.fieldNames().forEachRemaining(f -> {
      if (!known.contains(f)) {
        warnings.add(where + ": " + path + f + " is not supported; ignored");
      }
    });
  }

  private static AppSpec workload(String where, JsonNode doc, boolean stateful, Map<String, String> labelsOut, List<String> warnings) {
    warnUnknown(doc, TOP, "", where, warnings);
    JsonNode metadata = doc.path("metadata");
    warnUnknown(metadata, METADATA, "metadata.", where, warnings);
    String namespace = metadata.path("namespace").asText("");
    if (!namespace.isEmpty() && !namespace.equals("default")) {
      warnings.add(where + ": metadata.namespace " + namespace + " is ignored; a Hive cluster has one namespace");
    }
    if (metadata.has("annotations")) {
      warnings.add(where + ": metadata.annotations are ignored");
    }
    AppSpec.Builder b;
    try {
      b = AppSpec.builder(metadata.path("name").asText(null));
    } catch (InvalidSpecException e) {
      throw new InvalidSpecException("metadata.name", where + ": " + e.reason());
    }
    b.stateful(stateful);
    JsonNode spec = doc.path("spec");
    warnUnknown(spec, WORKLOAD_SPEC, "spec.", where, warnings);
    for (String ignored : List.of("strategy", "updateStrategy", "podManagementPolicy", "minReadySeconds", "progressDeadlineSeconds", "revisionHistoryLimit")) {
      if (spec.has(ignored)) {
        warnings.add(where + ": spec." + ignored + " is ignored; Hive replaces instances one at a time");
      }
    }
    try {
      if (spec.has("replicas")) {
        JsonNode replicas = spec.get("replicas");
        if (!replicas.canConvertToInt()) {
          throw new InvalidSpecException("spec.replicas", "expected a whole number, got " + replicas);
        }
        b.replicas(replicas.asInt());
      }
      JsonNode template = spec.path("template");
      JsonNode podLabels = template.path("metadata").path("labels");
      podLabels.fields().forEachRemaining(e -> {
        b.label(e.getKey(), e.getValue().asText());
        labelsOut.put(e.getKey(), e.getValue().asText());
      });
      JsonNode matchLabels = spec.path("selector").path("matchLabels");
      matchLabels.fields().forEachRemaining(e -> {
        if (!e.getValue().asText().equals(labelsOut.get(e.getKey()))) {
          throw new InvalidSpecException("spec.selector", "selector " + e.getKey() + "=" + e.getValue().asText() + " does not match the pod template's labels");
        }
      });
      if (spec.path("selector").has("matchExpressions")) {
        warnings.add(where + ": spec.selector.matchExpressions is ignored; the pod template's labels select");
      }
      JsonNode pod = template.path("spec");
      warnUnknown(pod, POD_SPEC, "spec.template.spec.", where, warnings);
      String restart = pod.path("restartPolicy").asText("Always");
      if (!restart.equals("Always")) {
        throw new InvalidSpecException("restartPolicy", "a " + doc.path("kind").asText() + " restarts its pods always; restartPolicy " + restart + " belongs to Jobs");
      }
      if (pod.has("terminationGracePeriodSeconds")) {
        warnings.add(where + ": terminationGracePeriodSeconds is ignored; the node's hive.reconcile.stop-grace applies");
      }
      JsonNode containers = pod.path("containers");
      if (!containers.isArray() || containers.isEmpty()) {
        throw new InvalidSpecException("containers", "the pod template has no containers");
      }
      for (int i = 1; i < containers.size(); i++) {
        warnings.add(where + ": container " + containers.get(i).path("name").asText("#" + (i + 1)) + " is ignored; Hive runs the first container only");
      }
      container(where, containers.get(0), b, warnings);
      pod.path("nodeSelector").fields().forEachRemaining(e -> b.constraint(e.getKey(), e.getValue().asText()));
      for (JsonNode t : pod.path("tolerations")) {
        String key = t.path("key").asText("");
        if (key.isEmpty()) {
          warnings.add(where + ": a toleration without a key (tolerate everything) is ignored");
          continue;
        }
        boolean exists = t.path("operator").asText("Equal").equals("Exists");
        b.toleration(exists || !t.hasNonNull("value") ? key : key + "=" + t.get("value").asText());
      }
      affinity(where, pod.path("affinity"), labelsOut, b, warnings);
      return b.build();
    } catch (InvalidSpecException e) {
      throw new InvalidSpecException(e.field(), where + ": " + e.reason());
    }
  }

  private static void container(String where, JsonNode c, AppSpec.Builder b, List<String> warnings) {
    String path = "spec.template.spec.containers[0].";
    warnUnknown(c, CONTAINER, path, where, warnings);
    if (!c.hasNonNull("image")) {
      throw new InvalidSpecException("image", "the container has no image");
    }
    b.image(c.get("image").asText());
    if (c.has("command")) {
      b.entrypoint(strings(c.get("command"), "command"));
    }
    if (c.has("args")) {
      b.args(strings(c.get("args"), "args"));
    }
    for (JsonNode e : c.path("env")) {
      if (e.has("valueFrom")) {
        warnings.add(where + ": env " + e.path("name").asText() + " uses valueFrom, which is not supported; ignored");
        continue;
      }
      b.env(e.path("name").asText(""), e.path("value").asText(""));
    }
    if (c.has("envFrom")) {
      warnings.add(where + ": " + path + "envFrom is not supported; ignored");
    }
    for (JsonNode p : c.path("ports")) {
      if (!p.path("containerPort").canConvertToInt()) {
        throw new InvalidSpecException("ports", "containerPort " + p.path("containerPort") + " is not a port number");
      }
      int port = p.path("containerPort").asInt();
      String protocol = p.path("protocol").asText("TCP");
      if (!protocol.equals("TCP")) {
        warnings.add(where + ": port " + port + " is " + protocol + "; Hive publishes TCP only");
      }
      PortSpec spec = p.hasNonNull("name") ? PortSpec.of(p.get("name").asText(), port) : PortSpec.of(port);
      b.port(p.hasNonNull("hostPort") ? spec.withHostPort(p.get("hostPort").asInt()) : spec);
    }
    resources(where, c.path("resources"), b, warnings);
    JsonNode readiness = c.path("readinessProbe");
    JsonNode liveness = c.path("livenessProbe");
    if (!readiness.isMissingNode() && !liveness.isMissingNode() && !readiness.equals(liveness)) {
      warnings.add(where + ": Hive runs one check per app: the readinessProbe; the livenessProbe is not run separately");
    }
    JsonNode probe = !readiness.isMissingNode() ? readiness : liveness;
    if (!probe.isMissingNode()) {
      b.healthCheck(probe(where, probe, c.path("ports"), warnings));
    }
  }

  private static List<String> strings(JsonNode array, String field) {
    if (!array.isArray()) {
      throw new InvalidSpecException(field, "expected a list of strings, got " + array);
    }
    List<String> out = new ArrayList<>();
    array.forEach(v -> out.add(v.asText()));
    return out;
  }

  private static void resources(String where, JsonNode r, AppSpec.Builder b, List<String> warnings) {
    JsonNode limits = r.path("limits");
    JsonNode requests = r.path("requests");
    for (String resource : List.of("cpu", "memory")) {
      JsonNode limit = limits.path(resource);
      JsonNode request = requests.path(resource);
      JsonNode chosen = !limit.isMissingNode() ? limit : request;
      if (chosen.isMissingNode()) {
        continue;
      }
      if (!limit.isMissingNode() && !request.isMissingNode() && !limit.asText().equals(request.asText())) {
        warnings.add(where + ": " + resource + " request " + request.asText() + " differs from its limit " + limit.asText()
            + "; Hive reserves and limits the same amount and used the limit");
      }
      if (resource.equals("cpu")) {
        b.cpus(cpu(chosen.asText()));
      } else {
        b.memoryBytes(memory(chosen.asText()));
      }
    }
    r.fieldNames().forEachRemaining(f -> {
      if (!f.equals("limits") && !f.equals("requests")) {
        warnings.add(where + ": resources." + f + " is not supported; ignored");
      }
    });
  }

  /** Kubernetes CPU quantities: {@code 500m}, {@code 0.5}, {@code 2}. */
  static double cpu(String text) {
    try {
      return text.endsWith("m") ? Double.parseDouble(text.substring(0, text.length() - 1)) / 1000 : Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new InvalidSpecException("resources.cpu", "'" + text + "' is not a CPU quantity such as 500m or 1.5");
    }
  }

  /** Kubernetes memory quantities: {@code 128Mi}, {@code 1Gi}, {@code 256M}, {@code 1e9}, plain bytes. */
  static long memory(String text) {
    String[][] units = {{"Ki", "1024"}, {"Mi", "1048576"}, {"Gi", "1073741824"}, {"Ti", "1099511627776"}, {"k", "1000"}, {"K", "1000"},
        {"M", "1000000"}, {"G", "1000000000"}, {"T", "1000000000000"}};
    try {
      for (String[] u : units) {
        if (text.endsWith(u[0])) {
          return Math.round(Double.parseDouble(text.substring(0, text.length() - u[0].length())) * Long.parseLong(u[1]));
        }
      }
      return Math.round(Double.parseDouble(text));
    } catch (NumberFormatException e) {
      throw new InvalidSpecException("resources.memory", "'" + text + "' is not a memory quantity such as 128Mi or 1Gi");
    }
  }

  private static HealthCheck probe(String where, JsonNode p, JsonNode ports, List<String> warnings) {
    warnUnknown(p, PROBE, "probe.", where, warnings);
    HealthCheck check;
    if (p.has("httpGet")) {
      JsonNode h = p.get("httpGet");
      check = HealthCheck.http(h.path("path").asText("/"));
      warnIfNotFirstPort(where, h.path("port"), ports, warnings);
    } else if (p.has("tcpSocket")) {
      check = HealthCheck.tcp();
      warnIfNotFirstPort(where, p.get("tcpSocket").path("port"), ports, warnings);
    } else if (p.has("exec")) {
      check = HealthCheck.exec(strings(p.get("exec").path("command"), "exec.command"));
    } else {
      throw new InvalidSpecException("probe", "a probe needs httpGet, tcpSocket or exec (grpc is not supported)");
    }
    if (p.has("periodSeconds")) {
      check = check.withInterval(Duration.ofSeconds(p.get("periodSeconds").asLong()));
    }
    if (p.has("timeoutSeconds")) {
      check = check.withTimeout(Duration.ofSeconds(p.get("timeoutSeconds").asLong()));
    }
    if (p.has("successThreshold") || p.has("failureThreshold")) {
      check = check.withThresholds(p.path("successThreshold").asInt(1), p.path("failureThreshold").asInt(3));
    }
    if (p.has("initialDelaySeconds")) {
      warnings.add(where + ": initialDelaySeconds is ignored; failures count only after the node's hive.reconcile.startup-grace");
    }
    return check;
  }

  private static void warnIfNotFirstPort(String where, JsonNode probePort, JsonNode ports, List<String> warnings) {
    if (probePort.isMissingNode() || !ports.isArray() || ports.isEmpty()) {
      return;
    }
    JsonNode first = ports.get(0);
    boolean same = probePort.isInt() ? probePort.asInt() == first.path("containerPort").asInt() : probePort.asText().equals(first.path("name").asText());
    if (!same) {
      warnings.add(where + ": the probe's port " + probePort.asText() + " is not the first port; Hive checks the first port");
    }
  }

  private static void affinity(String where, JsonNode affinity, Map<String, String> labels, AppSpec.Builder b, List<String> warnings) {
    if (affinity.isMissingNode()) {
      return;
    }
    affinity.fieldNames().forEachRemaining(f -> {
      if (!f.equals("podAntiAffinity")) {
        warnings.add(where + ": affinity." + f + " is not supported; ignored (use nodeSelector)");
      }
    });
    JsonNode anti = affinity.path("podAntiAffinity");
    if (anti.has("preferredDuringSchedulingIgnoredDuringExecution")) {
      warnings.add(where + ": preferred pod anti-affinity is not supported; ignored (only required anti-affinity on kubernetes.io/hostname)");
    }
    for (JsonNode term : anti.path("requiredDuringSchedulingIgnoredDuringExecution")) {
      String topology = term.path("topologyKey").asText("");
      Map<String, String> match = new LinkedHashMap<>();
      term.path("labelSelector").path("matchLabels").fields().forEachRemaining(e -> match.put(e.getKey(), e.getValue().asText()));
      boolean selectsItself = !match.isEmpty() && match.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
      if (topology.equals("kubernetes.io/hostname") && selectsItself) {
        b.antiAffinity(true);
      } else {
        warnings.add(where + ": pod anti-affinity on " + (topology.isEmpty() ? "no topologyKey" : topology) + " selecting " + match
            + " is not supported; Hive keeps an app's own replicas apart on kubernetes.io/hostname only");
      }
    }
  }

  private static void bindService(JsonNode service, List<AppSpec> apps, List<Map<String, String>> podLabels, List<String> warnings) {
    String name = service.path("metadata").path("name").asText("");
    String where = "Service " + name;
    Map<String, String> selector = new LinkedHashMap<>();
    service.path("spec").path("selector").fields().forEachRemaining(e -> selector.put(e.getKey(), e.getValue().asText()));
    JsonNode ports = service.path("spec").path("ports");
    int port = ports.isArray() && !ports.isEmpty() ? ports.get(0).path("port").asInt(0) : 0;
    if (ports.size() > 1) {
      warnings.add(where + ": only its first port is used");
    }
    String type = service.path("spec").path("type").asText("ClusterIP");
    if (!type.equals("ClusterIP")) {
      warnings.add(where + ": type " + type + " is treated as ClusterIP; Hive's proxy listens on every node");
    }
    boolean bound = false;
    for (int i = 0; i < apps.size(); i++) {
      Map<String, String> labels = podLabels.get(i);
      if (!selector.isEmpty() && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())))) {
        try {
          apps.set(i, apps.get(i).toBuilder().service(name, port).build());
        } catch (InvalidSpecException e) {
          throw new InvalidSpecException("service", where + ": " + e.reason());
        }
        bound = true;
      }
    }
    if (!bound) {
      warnings.add(where + " selects no Deployment or StatefulSet in this file (selector " + selector + "); ignored");
    }
  }
}
