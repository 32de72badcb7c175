package dev.hive.core.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.InvalidSpecException;
import dev.hive.core.http.ApiServer.Request;
import dev.hive.core.http.ApiServer.Response;
import dev.hive.core.node.LocalCluster;
import dev.hive.core.security.ApiTokens;
import dev.hive.core.state.TokenRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

/** API tokens, as Nomad's ACL tokens: created with a role, listed without secrets, revoked by name. Admin only. */
final class TokenRoutes {
  private static final Set<String> FIELDS = Set.of("name", "role", "ttl");
  private final LocalCluster cluster;
  private final ObjectMapper mapper;

  TokenRoutes(LocalCluster cluster, ObjectMapper mapper) {
    this.cluster = cluster;
    this.mapper = mapper;
  }

  void register(ApiServer api) {
    api.route("GET", "/api/v1/tokens", "admin", r -> {
      ArrayNode list = mapper.createArrayNode();
      cluster.apiTokens().forEach(t -> list.add(token(t)));
      return new Response(200, list);
    });
    api.route("POST", "/api/v1/tokens", "admin", this::create);
    api.route("DELETE", "/api/v1/tokens/{name}", "admin", r -> {
      cluster.revokeApiToken(r.params().get("name"), r.writeOptions());
      return new Response(200, mapper.createObjectNode().put("name", r.params().get("name")).put("revoked", true));
    });
  }

  private Response create(Request r) {
    JsonNode body = r.json(mapper);
    body.fieldNames().forEachRemaining(f -> {
      if (!FIELDS.contains(f)) {
        throw new InvalidSpecException(f, "not a token field; known: name, role, ttl");
      }
    });
    if (!body.path("name").isTextual() || !body.path("role").isTextual()) {
      throw new InvalidSpecException(body.path("name").isTextual() ? "role" : "name", "missing; send {\"name\": \"ci\", \"role\": \"operate\"}");
    }
    String name = TokenRecord.checkName(body.get("name").asText());
    String role = TokenRecord.checkRole(body.get("role").asText());
    Duration ttl = body.hasNonNull("ttl") ? ApiTokens.parseTtl(body.get("ttl").asText()) : null;
    String secret = cluster.createApiToken(name, role, ttl, r.writeOptions());
    ObjectNode o = mapper.createObjectNode().put("name", name).put("role", role).put("secret", secret);
    cluster.apiTokens().stream().filter(t -> t.name().equals(name)).findFirst().ifPresent(t -> o.setAll(token(t)));
    return new Response(201, o);
  }

  private ObjectNode token(TokenRecord t) {
    ObjectNode o = mapper.createObjectNode().put("name", t.name()).put("role", t.role()).put("createdAt", Instant.ofEpochMilli(t.createdAtMillis()).toString());
    if (t.expiresAtMillis() != 0) {
      o.put("expiresAt", Instant.ofEpochMilli(t.expiresAtMillis()).toString());
    } else {
      o.putNull("expiresAt");
    }
    return o;
  }
}
