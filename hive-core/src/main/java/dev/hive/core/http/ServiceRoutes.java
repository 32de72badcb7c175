package dev.hive.core.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.core.http.ApiServer.Request;
import dev.hive.core.http.ApiServer.Response;
import dev.hive.core.node.LocalCluster;
import dev.hive.core.service.ServiceDefinition;
import dev.hive.core.service.ServiceDiscovery;
import dev.hive.core.service.ServiceEndpoint;
import dev.hive.core.service.ServiceProxy;

/**
 * Service discovery's routes: Hivemind's {@code /services}, {@code /service-endpoints} and
 * {@code /service-url}, and the same under {@code /api/v1}.
 */
final class ServiceRoutes {
  private final LocalCluster cluster;
  private final ObjectMapper mapper;

  ServiceRoutes(LocalCluster cluster, ObjectMapper mapper) {
    this.cluster = cluster;
    this.mapper = mapper;
  }

  void register(ApiServer api) {
    for (String prefix : new String[] {"", "/api/v1"}) {
      api.route("GET", prefix + "/services", r -> new Response(200, services()));
      api.route("GET", prefix + "/service-endpoints", r -> new Response(200, endpoints()));
      // A read that Hivemind's users send as a POST.
      api.route("POST", prefix + "/service-url", "read", this::serviceUrl);
    }
    api.route("GET", "/api/v1/services/{name}", r -> new Response(200, service(require(r.params().get("name")))));
    api.route("GET", "/api/v1/services/{name}/endpoints", r -> new Response(200, endpoints(require(r.params().get("name")).name())));
  }

  private ServiceDiscovery discovery() {
    return cluster.services();
  }

  private ServiceDefinition require(String name) {
    return discovery().catalog().definition(name).orElseThrow(() -> new NotFoundException(
        "there is no service '" + name + "'; `hive service ls` lists them, `hive app deploy ... --service NAME` makes one"));
  }

  private ArrayNode services() {
    ArrayNode array = mapper.createArrayNode();
    discovery().catalog().definitions().values().forEach(d -> array.add(service(d)));
    return array;
  }

  private ObjectNode service(ServiceDefinition d) {
    ServiceDiscovery sd = discovery();
    ObjectNode o = mapper.createObjectNode();
    o.put("name", d.name()).put("app", d.app()).put("domain", d.name() + "." + sd.domain()).put("port", d.listenPort());
    o.put("healthyEndpoints", sd.catalog().endpoints(d.name()).size());
    ObjectNode proxy = o.putObject("proxy");
    if (sd.proxy().isEmpty()) {
      proxy.put("state", "off");
    } else {
      ServiceProxy p = sd.proxy().get();
      proxy.put("state", p.problem(d.name()).isPresent() ? "failed" : "listening");
      p.problem(d.name()).ifPresent(why -> proxy.put("problem", why));
      ServiceProxy.Stats stats = p.stats().get(d.name());
      if (stats != null) {
        proxy.put("connections", stats.connections()).put("open", stats.open()).put("failed", stats.failed()).put("replayed", stats.replayed());
      }
    }
    return o;
  }

  private ObjectNode endpoints() {
    ObjectNode o = mapper.createObjectNode();
    discovery().catalog().definitions().keySet().forEach(name -> o.set(name, endpoints(name)));
    return o;
  }

  private ArrayNode endpoints(String service) {
    ArrayNode array = mapper.createArrayNode();
    for (ServiceEndpoint e : discovery().catalog().endpoints(service)) {
      array.addObject().put("instance", e.instance()).put("app", e.app()).put("node", e.node()).put("host", e.host()).put("port", e.port())
          .put("address", e.address());
    }
    return array;
  }

  /** Hivemind's {@code {"service_name": ...}}: where to reach the service, through this node's proxy. */
  private Response serviceUrl(Request r) {
    JsonNode body = r.json(mapper);
    JsonNode name = body.get("service_name");
    if (name == null || !name.isTextual() || name.asText().isBlank()) {
      throw new InvalidSpecException("service_name", "expected {\"service_name\": \"NAME\"}");
    }
    String service = name.asText();
    // Hivemind users name services by their domain (webapp.local): accept that form too.
    String suffix = "." + discovery().domain();
    if (service.endsWith(suffix)) {
      service = service.substring(0, service.length() - suffix.length());
    }
    ServiceDefinition d = require(service);
    String host = cluster.localNode().address();
    ObjectNode o = mapper.createObjectNode();
    o.put("service_name", d.name());
    o.put("url", "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + d.listenPort());
    o.put("domain", d.name() + "." + discovery().domain());
    o.put("port", d.listenPort());
    o.set("endpoints", endpoints(d.name()));
    return new Response(200, o);
  }
}
