package dev.hive.core.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.UnavailableException;
import dev.hive.core.cluster.ClusterNode;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * Calls between the nodes' VM services: JSON requests on the cluster transport's topics {@code
 * hive.vm.<op>}, answered {@code {"ok": ...}} or {@code {"error": ..., "kind": ...}}, an error
 * thrown again on the caller as the same kind of exception. A call to this node is served here,
 * without the transport.
 */
final class VmWire {
  static final String TOPIC = "hive.vm.";
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

  private final String nodeId;
  private final BiFunction<String, JsonNode, JsonNode> handler;
  private volatile ClusterNode clusterNode;

  /** {@code handler} answers an operation with its body, or throws a {@link HiveException}. */
  VmWire(String nodeId, BiFunction<String, JsonNode, JsonNode> handler) {
    this.nodeId = nodeId;
    this.handler = handler;
  }

  /** Serves the other nodes from now on. */
  void attach(ClusterNode node) {
    this.clusterNode = node;
    node.handle(TOPIC, (from, topic, payload) -> serve(topic.substring(TOPIC.length()), payload));
  }

  /** The cluster this node is part of, or null while it runs alone. */
  ClusterNode clusterNode() {
    return clusterNode;
  }

  byte[] serve(String op, byte[] payload) {
    ObjectNode reply;
    try {
      reply = JSON.createObjectNode();
      reply.set("ok", handler.apply(op, JSON.readTree(payload)));
    } catch (IOException e) {
      reply = error(new InvalidSpecException("body", "not JSON: " + e.getMessage()));
    } catch (HiveException e) {
      reply = error(e);
    } catch (RuntimeException e) {
      reply = error(new HiveException(e.toString(), e));
    }
    try {
      return JSON.writeValueAsBytes(reply);
    } catch (IOException e) {
      throw new HiveException("cannot encode a reply", e);
    }
  }

  private static ObjectNode error(HiveException e) {
    String kind = e instanceof NotFoundException ? "not-found" : e instanceof ConflictException ? "conflict"
        : e instanceof InvalidSpecException ? "invalid" : e instanceof UnavailableException ? "unavailable" : "failed";
    return JSON.createObjectNode().put("error", e.getMessage()).put("kind", kind);
  }

  JsonNode ask(String node, String op, ObjectNode body) {
    return ask(node, op, body, CALL_TIMEOUT);
  }

  JsonNode ask(String node, String op, ObjectNode body, Duration timeout) {
    byte[] payload;
    try {
      payload = JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new HiveException("cannot encode a request", e);
    }
    byte[] reply;
    if (node.equals(nodeId)) {
      reply = serve(op, payload);
    } else {
      ClusterNode cn = clusterNode;
      var peer = cn == null ? null : cn.peerOf(node);
      if (peer == null) {
        throw new UnavailableException("node " + node + " is not a member this node can reach now");
      }
      try {
        reply = cn.transport().request(peer, TOPIC + op, payload, timeout).get(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UnavailableException("interrupted while asking node " + node, e);
      } catch (Exception e) {
        Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
        throw new UnavailableException("node " + node + " did not answer (" + op + "): " + cause.getMessage(), cause);
      }
    }
    JsonNode r;
    try {
      r = JSON.readTree(reply);
    } catch (IOException e) {
      throw new HiveException("node " + node + " answered with something that is not JSON", e);
    }
    if (r.has("error")) {
      String message = r.get("error").asText();
      throw switch (r.path("kind").asText()) {
        case "not-found" -> new NotFoundException(message);
        case "conflict" -> new ConflictException(message);
        case "invalid" -> new InvalidSpecException("vm", message);
        case "unavailable" -> new UnavailableException(message);
        default -> new HiveException(message);
      };
    }
    return r.get("ok");
  }
}
