package dev.hive.core.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
import dev.hive.api.Instance;
import dev.hive.api.InstanceState;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** Instances on the wire between nodes, so that any node can list the whole cluster's. */
final class InstanceCodec {
  private static final ObjectMapper JSON = new ObjectMapper();

  private InstanceCodec() {}

  static byte[] encode(List<Instance> instances) {
    ArrayNode array = JSON.createArrayNode();
    for (Instance i : instances) {
      ObjectNode o = array.addObject();
      o.put("id", i.id()).put("app", i.app()).put("ordinal", i.ordinal()).put("node", i.node()).put("state", i.state().name())
          .put("healthy", i.healthy()).put("restarts", i.restarts()).put("reason", i.reason()).put("runtime", i.runtime());
      i.pid().ifPresent(p -> o.put("pid", p));
      i.exitCode().ifPresent(c -> o.put("exitCode", c));
      i.startedAt().ifPresent(t -> o.put("startedAt", t.toEpochMilli()));
      ObjectNode ports = o.putObject("ports");
      i.hostPorts().forEach(ports::put);
    }
    try {
      return JSON.writeValueAsBytes(array);
    } catch (IOException e) {
      throw new HiveException("cannot encode instances", e);
    }
  }

  static List<Instance> decode(byte[] bytes) {
    List<Instance> result = new ArrayList<>();
    try {
      for (JsonNode o : JSON.readTree(bytes)) {
        Map<String, Integer> ports = new LinkedHashMap<>();
        o.path("ports").fields().forEachRemaining(e -> ports.put(e.getKey(), e.getValue().asInt()));
        result.add(new Views.InstanceView(
            o.path("id").asText(), o.path("app").asText(), o.path("ordinal").asInt(), o.path("node").asText(),
            InstanceState.valueOf(o.path("state").asText()), o.path("healthy").asBoolean(),
            o.has("pid") ? OptionalLong.of(o.path("pid").asLong()) : OptionalLong.empty(),
            java.util.Collections.unmodifiableMap(ports), o.path("restarts").asInt(),
            o.has("startedAt") ? Optional.of(Instant.ofEpochMilli(o.path("startedAt").asLong())) : Optional.empty(),
            o.has("exitCode") ? OptionalInt.of(o.path("exitCode").asInt()) : OptionalInt.empty(),
            o.path("reason").asText(), o.path("runtime").asText()));
      }
    } catch (IOException | IllegalArgumentException e) {
      throw new HiveException("malformed instance list from a peer: " + e.getMessage());
    }
    return result;
  }

  static byte[] encodeSamples(java.util.Collection<dev.hive.core.monitor.InstanceSample> samples) {
    try {
      return JSON.writeValueAsBytes(List.copyOf(samples));
    } catch (IOException e) {
      throw new HiveException("cannot encode instance metrics", e);
    }
  }

  static List<dev.hive.core.monitor.InstanceSample> decodeSamples(byte[] bytes) {
    try {
      return List.of(JSON.readValue(bytes, dev.hive.core.monitor.InstanceSample[].class));
    } catch (IOException e) {
      throw new HiveException("malformed instance metrics from a peer: " + e.getMessage());
    }
  }
}
