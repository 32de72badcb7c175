package dev.hive.core.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.VmSpec;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Set;

/**
 * {@link VmSpec} to and from JSON: in the command log, between nodes, and in the REST API, where
 * memory is also accepted as text ({@code "256M"}) and unknown fields are refused.
 */
public final class VmSpecCodec {
  private static final Set<String> FIELDS = Set.of("name", "vcpus", "memoryBytes", "memory", "disks", "kernel", "initrd", "cmdline", "network",
      "serialLog", "node");

  private VmSpecCodec() {}

  /** Encodes a spec. */
  public static ObjectNode toJson(ObjectMapper mapper, VmSpec spec) {
    ObjectNode o = mapper.createObjectNode();
    o.put("name", spec.name()).put("vcpus", spec.vcpus()).put("memoryBytes", spec.memoryBytes());
    spec.disks().forEach(d -> o.withArray("disks").add(d.toString()));
    spec.kernel().ifPresent(k -> o.put("kernel", k.toString()));
    spec.initrd().ifPresent(i -> o.put("initrd", i.toString()));
    spec.cmdline().ifPresent(c -> o.put("cmdline", c));
    spec.network().ifPresent(n -> o.put("network", n));
    spec.serialLog().ifPresent(l -> o.put("serialLog", l.toString()));
    spec.node().ifPresent(n -> o.put("node", n));
    return o;
  }

  /**
   * Decodes a spec, checking every field as the builder does.
   *
   * @throws InvalidSpecException naming the first field that is unknown, of the wrong type or invalid
   */
  public static VmSpec fromJson(JsonNode o) {
    if (o == null || !o.isObject()) {
      throw new InvalidSpecException("spec", "expected a JSON object with at least \"name\"");
    }
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!FIELDS.contains(field)) {
        throw new InvalidSpecException(field, "unknown field; a VM spec takes " + String.join(", ", new java.util.TreeSet<>(FIELDS)));
      }
    }
    VmSpec.Builder b = VmSpec.builder(text(o, "name"));
    if (o.has("vcpus")) {
      if (!o.get("vcpus").canConvertToInt() || !o.get("vcpus").isIntegralNumber()) {
        throw new InvalidSpecException("vcpus", "expected a whole number");
      }
      b.vcpus(o.get("vcpus").asInt());
    }
    if (o.has("memoryBytes")) {
      if (!o.get("memoryBytes").isIntegralNumber()) {
        throw new InvalidSpecException("memoryBytes", "expected a whole number of bytes");
      }
      b.memoryBytes(o.get("memoryBytes").asLong());
    } else if (o.has("memory")) {
      b.memoryBytes(Sizes.parseBytes("memory", text(o, "memory")));
    }
    if (o.has("disks")) {
      if (!o.get("disks").isArray()) {
        throw new InvalidSpecException("disks", "expected an array of absolute paths");
      }
      o.get("disks").forEach(d -> b.disk(path("disks", d.asText())));
    }
    if (o.has("kernel")) {
      b.kernel(path("kernel", text(o, "kernel")));
    }
    if (o.has("initrd")) {
      b.initrd(path("initrd", text(o, "initrd")));
    }
    if (o.has("cmdline")) {
      b.cmdline(text(o, "cmdline"));
    }
    if (o.has("network")) {
      b.network(text(o, "network"));
    }
    if (o.has("serialLog")) {
      b.serialLog(path("serialLog", text(o, "serialLog")));
    }
    if (o.has("node")) {
      b.node(text(o, "node"));
    }
    return b.build();
  }

  /** A path as the JDK reads it: one it cannot (a NUL character) is refused like any bad value. */
  private static Path path(String field, String text) {
    try {
      return Path.of(text);
    } catch (java.nio.file.InvalidPathException e) {
      throw new InvalidSpecException(field, "'" + text.replace('\0', '?') + "' is not a path: " + e.getReason());
    }
  }

  private static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    if (v == null || !v.isTextual()) {
      throw new InvalidSpecException(field, "expected a string");
    }
    return v.asText();
  }
}
