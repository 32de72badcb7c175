package dev.hive.core.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.OverwritePolicy;
import dev.hive.api.Transfer;
import dev.hive.api.TransferOptions;
import dev.hive.api.TransferStatus;
import dev.hive.core.http.ApiServer.Request;
import dev.hive.core.http.ApiServer.Response;
import dev.hive.core.node.LocalCluster;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * Transfers: {@code POST /api/v1/transfers} starts one from this node ({@code path} on this node,
 * {@code target} node id or name, optional {@code streams}, {@code chunkSize}, {@code as},
 * {@code plain}, {@code overwrite}, {@code bandwidthLimit}); {@code GET} lists them or shows one;
 * {@code POST .../{id}/resume} and {@code .../{id}/cancel}.
 */
final class TransferRoutes {
  private static final Set<String> FIELDS = Set.of("path", "target", "streams", "chunkSize", "as", "plain", "overwrite", "bandwidthLimit");

  private final LocalCluster cluster;
  private final ObjectMapper mapper;

  TransferRoutes(LocalCluster cluster, ObjectMapper mapper) {
    this.cluster = cluster;
    this.mapper = mapper;
  }

  void register(ApiServer api) {
    api.route("GET", "/api/v1/transfers", r -> {
      ArrayNode array = mapper.createArrayNode();
      cluster.transfers().list().forEach(s -> array.add(json(s)));
      return new Response(200, array);
    });
    api.route("POST", "/api/v1/transfers", this::send);
    api.route("GET", "/api/v1/transfers/{id}", r -> new Response(200, json(cluster.transfers().get(r.params().get("id")).status())));
    api.route("POST", "/api/v1/transfers/{id}/resume", r -> new Response(202, json(cluster.transfers().get(r.params().get("id")).resume().status())));
    api.route("POST", "/api/v1/transfers/{id}/cancel", r -> {
      Transfer t = cluster.transfers().get(r.params().get("id"));
      t.cancel();
      return new Response(202, json(t.status()));
    });
  }

  private Response send(Request r) {
    SendRequest request = sendRequest(r.json(mapper));
    Transfer t = cluster.transfers().send(request.file(), request.target(), request.options());
    return new Response(202, json(t.status()));
  }

  /** What a transfer body asks for, checked before anything is read or sent. */
  record SendRequest(Path file, String target, TransferOptions options) {}

  /**
   * Reads the body of {@code POST /api/v1/transfers}.
   *
   * @throws InvalidSpecException naming the field at fault
   */
  static SendRequest sendRequest(JsonNode body) {
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!FIELDS.contains(field)) {
        throw new InvalidSpecException(field, "unknown field; a transfer takes " + String.join(", ", new java.util.TreeSet<>(FIELDS)));
      }
    }
    String path = text(body, "path", "the file or directory to send, on this node");
    String target = text(body, "target", "the receiving node's id or name");
    TransferOptions.Builder options = TransferOptions.builder();
    if (body.has("streams")) {
      options.streams(integer(body, "streams"));
    }
    if (body.has("chunkSize")) {
      options.chunkSize(integer(body, "chunkSize"));
    }
    if (body.has("as")) {
      options.destinationName(text(body, "as", "the name to land under"));
    }
    if (body.has("plain")) {
      if (!body.get("plain").isBoolean()) {
        throw new InvalidSpecException("plain", "expected true or false");
      }
      options.encrypted(!body.get("plain").asBoolean());
    }
    if (body.has("overwrite")) {
      String policy = text(body, "overwrite", "FAIL or REPLACE").toUpperCase(Locale.ROOT);
      try {
        options.overwrite(OverwritePolicy.valueOf(policy));
      } catch (IllegalArgumentException e) {
        throw new InvalidSpecException("overwrite", "expected FAIL or REPLACE, got '" + policy + "'");
      }
    }
    if (body.has("bandwidthLimit")) {
      JsonNode v = body.get("bandwidthLimit");
      if (!v.canConvertToLong() || !v.isIntegralNumber()) {
        throw new InvalidSpecException("bandwidthLimit", "expected bytes per second as a whole number");
      }
      options.bandwidthLimit(v.asLong());
    }
    Path file;
    try {
      file = Path.of(path);
    } catch (InvalidPathException e) {
      throw new InvalidSpecException("path", "'" + path.replace('\0', '?') + "' is not a path: " + e.getReason());
    }
    if (!file.isAbsolute()) {
      throw new InvalidSpecException("path", "'" + path + "' is relative; give the absolute path on the node (the CLI does this for you)");
    }
    return new SendRequest(file, target, options.build());
  }

  private static String text(JsonNode body, String field, String what) {
    JsonNode v = body.get(field);
    if (v == null || !v.isTextual() || v.asText().isBlank()) {
      throw new InvalidSpecException(field, "expected a string: " + what);
    }
    return v.asText();
  }

  private static int integer(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw new InvalidSpecException(field, "expected a whole number, got " + v);
    }
    return v.asInt();
  }

  private ObjectNode json(TransferStatus s) {
    ObjectNode o = mapper.createObjectNode();
    o.put("id", s.id()).put("file", s.file()).put("source", s.source()).put("target", s.target()).put("destination", s.destination())
        .put("state", s.state().name()).put("files", s.files()).put("bytesTotal", s.bytesTotal()).put("bytesVerified", s.bytesVerified())
        .put("bytesOnWire", s.bytesOnWire()).put("bytesPerSecond", s.bytesPerSecond()).put("chunksResent", s.chunksResent())
        .put("sha256", s.sha256()).put("startedAt", s.startedAt().toString());
    s.finishedAt().ifPresent(f -> o.put("finishedAt", f.toString()));
    if (!s.error().isEmpty()) {
      o.put("error", s.error());
    }
    return o;
  }
}
