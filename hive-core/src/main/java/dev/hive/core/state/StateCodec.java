package dev.hive.core.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.HiveException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** Commands and states to and from the JSON kept in the store's log and snapshots. */
public final class StateCodec {
  private final ObjectMapper mapper = new ObjectMapper();

  /** Encodes a command. */
  public byte[] encode(Command command) {
    return bytes(commandJson(command));
  }

  /** Encodes a request: its command's fields and the request's. */
  public byte[] encode(Request request) {
    return bytes(requestJson(request));
  }

  /**
   * Encodes requests sent as one log entry: a JSON array of requests, or the request alone when
   * there is one (what an entry written before batches holds).
   *
   * @throws IllegalArgumentException if {@code requests} is empty
   */
  public byte[] encodeRequests(List<Request> requests) {
    if (requests.isEmpty()) {
      throw new IllegalArgumentException("a log entry holds at least one request");
    }
    if (requests.size() == 1) {
      return encode(requests.get(0));
    }
    com.fasterxml.jackson.databind.node.ArrayNode batch = mapper.createArrayNode();
    requests.forEach(r -> batch.add(requestJson(r)));
    return bytes(batch);
  }

  /**
   * Decodes the requests of one log entry (see {@link #encodeRequests}).
   *
   * @throws HiveException if the bytes are not requests this version knows
   */
  public List<Request> decodeRequests(byte[] bytes) {
    JsonNode o = tree(bytes);
    if (!o.isArray()) {
      return List.of(request(o));
    }
    if (o.isEmpty()) {
      throw new HiveException("a batch of requests is empty");
    }
    List<Request> requests = new ArrayList<>(o.size());
    o.forEach(r -> requests.add(request(r)));
    return requests;
  }

  private ObjectNode requestJson(Request request) {
    ObjectNode o = commandJson(request.command());
    o.put("requestId", request.id()).put("deadlineMillis", request.deadlineMillis()).put("stampMillis", request.stampMillis())
        .put("digest", request.digest());
    return o;
  }

  /**
   * Returns what a command says, leaving out the times it carries ({@code atMillis}): a caller
   * retrying with the same id sends the same digest although its clock moved.
   */
  public String digest(Command command) {
    ObjectNode o = commandJson(command);
    o.remove("atMillis");
    try {
      byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(bytes(o));
      return java.util.HexFormat.of().formatHex(hash, 0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * Decodes a request; an entry written before requests had ids comes back without an id.
   *
   * @throws HiveException if the bytes are not a request this version knows
   */
  public Request decodeRequest(byte[] bytes) {
    return request(tree(bytes));
  }

  private Request request(JsonNode o) {
    Command command = command(o);
    if (!o.hasNonNull("requestId")) {
      return new Request(null, Long.MAX_VALUE, 0, "", command);
    }
    return new Request(text(o, "requestId", "a request"), o.path("deadlineMillis").asLong(), o.path("stampMillis").asLong(),
        o.path("digest").asText(""), command);
  }

  private ObjectNode commandJson(Command command) {
    ObjectNode o = mapper.createObjectNode();
    if (command instanceof Command.RegisterNode c) {
      o.put("type", "register-node");
      o.set("node", node(c.node()));
    } else if (command instanceof Command.DeployApp c) {
      o.put("type", "deploy-app");
      o.set("spec", AppSpecCodec.toJson(mapper, c.spec()));
      o.put("atMillis", c.atMillis());
    } else if (command instanceof Command.ScaleApp c) {
      o.put("type", "scale-app").put("app", c.app()).put("replicas", c.replicas());
    } else if (command instanceof Command.RestartApp c) {
      o.put("type", "restart-app").put("app", c.app());
    } else if (command instanceof Command.DeleteApp c) {
      o.put("type", "delete-app").put("app", c.app());
    } else if (command instanceof Command.AssignSlots c) {
      o.put("type", "assign-slots").put("app", c.app());
      ObjectNode a = o.putObject("assignments");
      new TreeMap<>(c.assignments()).forEach((ordinal, node) -> a.put(Integer.toString(ordinal), node));
    } else if (command instanceof Command.UnassignSlots c) {
      o.put("type", "unassign-slots").put("app", c.app()).put("avoid", c.avoid());
      ObjectNode a = o.putObject("from");
      new TreeMap<>(c.from()).forEach((ordinal, node) -> a.put(Integer.toString(ordinal), node));
    } else if (command instanceof Command.RestartSlot c) {
      o.put("type", "restart-slot").put("app", c.app()).put("ordinal", c.ordinal()).put("generation", c.generation());
    } else if (command instanceof Command.ReportReady c) {
      o.put("type", "report-ready").put("node", c.node());
      ObjectNode a = o.putObject("ready");
      new TreeMap<>(c.readyGenerations()).forEach(a::put);
    } else if (command instanceof Command.SetDraining c) {
      o.put("type", "set-draining").put("node", c.node()).put("draining", c.draining());
    } else if (command instanceof Command.SetPendingReason c) {
      o.put("type", "set-pending-reason").put("app", c.app()).put("reason", c.reason());
    } else if (command instanceof Command.CreateVm c) {
      o.put("type", "create-vm").put("node", c.node()).put("atMillis", c.atMillis());
      o.set("spec", VmSpecCodec.toJson(mapper, c.spec()));
    } else if (command instanceof Command.DeleteVm c) {
      o.put("type", "delete-vm").put("vm", c.vm());
    } else if (command instanceof Command.StartMigration c) {
      o.put("type", "start-migration");
      o.set("migration", migration(c.migration()));
    } else if (command instanceof Command.FinishMigration c) {
      o.put("type", "finish-migration").put("id", c.id()).put("state", c.state().name()).put("atMillis", c.atMillis())
          .put("totalMs", c.totalMs()).put("downtimeMs", c.downtimeMs()).put("bytes", c.bytes()).put("error", c.error());
    } else if (command instanceof Command.CreateToken c) {
      o.put("type", "create-token").put("bootstrap", c.bootstrap());
      o.set("token", token(c.token()));
    } else if (command instanceof Command.RevokeToken c) {
      o.put("type", "revoke-token").put("name", c.name());
    } else if (command instanceof Command.SettleRequest) {
      o.put("type", "settle-request");
    }
    return o;
  }

  /**
   * Decodes a command.
   *
   * @throws HiveException if the bytes are not a command this version knows
   */
  public Command decodeCommand(byte[] bytes) {
    return command(tree(bytes));
  }

  private Command command(JsonNode o) {
    String type = o.path("type").asText();
    String what = "a " + type + " command";
    switch (type) {
      case "register-node":
        return new Command.RegisterNode(node(required(o, "node", what)));
      case "deploy-app":
        return new Command.DeployApp(AppSpecCodec.fromJson(required(o, "spec", what)), longValue(o, "atMillis", what));
      case "scale-app":
        return new Command.ScaleApp(text(o, "app", what), intValue(o, "replicas", what));
      case "restart-app":
        return new Command.RestartApp(text(o, "app", what));
      case "delete-app":
        return new Command.DeleteApp(text(o, "app", what));
      case "assign-slots":
        Map<Integer, String> assignments = new HashMap<>();
        fields(o, "assignments", what).forEachRemaining(e -> assignments.put(ordinal(e.getKey(), what), e.getValue().asText()));
        return new Command.AssignSlots(text(o, "app", what), assignments);
      case "unassign-slots":
        Map<Integer, String> from = new HashMap<>();
        fields(o, "from", what).forEachRemaining(e -> from.put(ordinal(e.getKey(), what), e.getValue().asText()));
        return new Command.UnassignSlots(text(o, "app", what), from, bool(o, "avoid", what));
      case "restart-slot":
        return new Command.RestartSlot(text(o, "app", what), intValue(o, "ordinal", what), intValue(o, "generation", what));
      case "report-ready":
        Map<String, Integer> ready = new HashMap<>();
        fields(o, "ready", what).forEachRemaining(e -> ready.put(e.getKey(), e.getValue().asInt()));
        return new Command.ReportReady(text(o, "node", what), ready);
      case "set-draining":
        return new Command.SetDraining(text(o, "node", what), bool(o, "draining", what));
      case "set-pending-reason":
        return new Command.SetPendingReason(text(o, "app", what), text(o, "reason", what));
      case "create-vm":
        return new Command.CreateVm(VmSpecCodec.fromJson(required(o, "spec", what)), text(o, "node", what), longValue(o, "atMillis", what));
      case "delete-vm":
        return new Command.DeleteVm(text(o, "vm", what));
      case "start-migration":
        return new Command.StartMigration(migration(required(o, "migration", what)));
      case "finish-migration":
        return new Command.FinishMigration(text(o, "id", what), enumValue(dev.hive.api.MigrationState.class, o, "state", what),
            longValue(o, "atMillis", what), longValue(o, "totalMs", what), longValue(o, "downtimeMs", what), longValue(o, "bytes", what),
            text(o, "error", what));
      case "create-token":
        return new Command.CreateToken(token(required(o, "token", what)), bool(o, "bootstrap", what));
      case "revoke-token":
        return new Command.RevokeToken(text(o, "name", what));
      case "settle-request":
        return new Command.SettleRequest();
      default:
        throw new HiveException("the command log holds a command of unknown type '" + type + "'; was it written by a newer Hive?");
    }
  }

  /** Encodes a whole state (a snapshot). */
  public byte[] encode(ClusterState state) {
    return bytes(stateJson(state));
  }

  /** Encodes a snapshot: the state and the ledger's outcomes. */
  public byte[] encode(ClusterState state, List<RequestLedger.Outcome> outcomes) {
    ObjectNode o = stateJson(state);
    com.fasterxml.jackson.databind.node.ArrayNode requests = o.putArray("requests");
    for (RequestLedger.Outcome r : outcomes) {
      requests.addObject().put("id", r.id()).put("applied", r.applied()).put("logIndex", r.logIndex()).put("refusal", r.refusal())
          .put("digest", r.digest()).put("deadlineMillis", r.deadlineMillis());
    }
    return bytes(o);
  }

  /** Decodes the ledger's outcomes of a snapshot (none in one written before requests had ids). */
  public List<RequestLedger.Outcome> decodeOutcomes(byte[] bytes) {
    List<RequestLedger.Outcome> outcomes = new ArrayList<>();
    for (JsonNode r : tree(bytes).path("requests")) {
      String what = "a request outcome";
      outcomes.add(new RequestLedger.Outcome(text(r, "id", what), bool(r, "applied", what), longValue(r, "logIndex", what),
          text(r, "refusal", what), text(r, "digest", what), longValue(r, "deadlineMillis", what)));
    }
    return outcomes;
  }

  private ObjectNode stateJson(ClusterState state) {
    ObjectNode o = mapper.createObjectNode();
    o.put("index", state.index());
    ObjectNode nodes = o.putObject("nodes");
    state.nodes().forEach((id, n) -> nodes.set(id, node(n)));
    ObjectNode apps = o.putObject("apps");
    state.apps().forEach(
        (name, a) -> {
          ObjectNode app = apps.putObject(name);
          app.set("spec", AppSpecCodec.toJson(mapper, a.spec()));
          app.put("generation", a.generation());
          app.put("createdAtMillis", a.createdAtMillis());
          app.put("pendingReason", a.pendingReason());
          ObjectNode slots = app.putObject("slots");
          a.slots().forEach((ordinal, slot) -> {
            ObjectNode so = slots.putObject(Integer.toString(ordinal));
            so.put("node", slot.node()).put("generation", slot.generation()).put("ready", slot.ready());
            slot.avoid().forEach(so.putArray("avoid")::add);
          });
        });
    ObjectNode vms = o.putObject("vms");
    state.vms().forEach((name, v) -> {
      ObjectNode vm = vms.putObject(name);
      vm.set("spec", VmSpecCodec.toJson(mapper, v.spec()));
      vm.put("node", v.node()).put("createdAtMillis", v.createdAtMillis()).put("migration", v.migration());
    });
    ObjectNode migrations = o.putObject("migrations");
    state.migrations().forEach((id, m) -> migrations.set(id, migration(m)));
    ObjectNode tokens = o.putObject("tokens");
    state.tokens().forEach((name, t) -> tokens.set(name, token(t)));
    o.put("bootstrapTokenIssued", state.bootstrapTokenIssued());
    return o;
  }

  private ObjectNode token(TokenRecord t) {
    return mapper.createObjectNode().put("name", t.name()).put("role", t.role()).put("sha256", t.sha256())
        .put("createdAtMillis", t.createdAtMillis()).put("expiresAtMillis", t.expiresAtMillis());
  }

  private static TokenRecord token(JsonNode t) {
    String what = "a token";
    return new TokenRecord(text(t, "name", what), text(t, "role", what), text(t, "sha256", what), longValue(t, "createdAtMillis", what),
        longValue(t, "expiresAtMillis", what));
  }

  private ObjectNode migration(MigrationRecord m) {
    return mapper.createObjectNode().put("id", m.id()).put("vm", m.vm()).put("mode", m.mode().name()).put("source", m.source())
        .put("target", m.target()).put("state", m.state().name()).put("startedAtMillis", m.startedAtMillis())
        .put("finishedAtMillis", m.finishedAtMillis()).put("totalMs", m.totalMs()).put("downtimeMs", m.downtimeMs()).put("bytes", m.bytes())
        .put("error", m.error());
  }

  private static MigrationRecord migration(JsonNode m) {
    String what = "a migration";
    return new MigrationRecord(text(m, "id", what), text(m, "vm", what), enumValue(dev.hive.api.MigrationMode.class, m, "mode", what),
        text(m, "source", what), text(m, "target", what), enumValue(dev.hive.api.MigrationState.class, m, "state", what),
        longValue(m, "startedAtMillis", what), longValue(m, "finishedAtMillis", what), longValue(m, "totalMs", what),
        longValue(m, "downtimeMs", what), longValue(m, "bytes", what), text(m, "error", what));
  }

  /**
   * Decodes a snapshot.
   *
   * @throws HiveException if the bytes are not a snapshot this version knows
   */
  public ClusterState decodeState(byte[] bytes) {
    JsonNode o = tree(bytes);
    SortedMap<String, NodeRecord> nodes = new TreeMap<>();
    fields(o, "nodes", "a snapshot").forEachRemaining(e -> nodes.put(e.getKey(), node(e.getValue())));
    SortedMap<String, AppRecord> apps = new TreeMap<>();
    fields(o, "apps", "a snapshot").forEachRemaining(e -> {
      JsonNode a = e.getValue();
      String what = "app '" + e.getKey() + "' of a snapshot";
      SortedMap<Integer, Slot> slots = new TreeMap<>();
      fields(a, "slots", what).forEachRemaining(s -> {
        JsonNode so = s.getValue();
        String slot = "slot " + s.getKey() + " of " + what;
        java.util.TreeSet<String> avoid = new java.util.TreeSet<>();
        so.path("avoid").forEach(n -> avoid.add(n.asText()));
        slots.put(ordinal(s.getKey(), what), new Slot(text(so, "node", slot), intValue(so, "generation", slot), bool(so, "ready", slot), avoid));
      });
      apps.put(e.getKey(), new AppRecord(AppSpecCodec.fromJson(required(a, "spec", what)), intValue(a, "generation", what),
          longValue(a, "createdAtMillis", what), slots, a.path("pendingReason").asText("")));
    });
    SortedMap<String, VmRecord> vms = new TreeMap<>();
    o.path("vms").fields().forEachRemaining(e -> {
      JsonNode v = e.getValue();
      String what = "VM '" + e.getKey() + "' of a snapshot";
      vms.put(e.getKey(), new VmRecord(VmSpecCodec.fromJson(required(v, "spec", what)), text(v, "node", what), longValue(v, "createdAtMillis", what),
          text(v, "migration", what)));
    });
    SortedMap<String, MigrationRecord> migrations = new TreeMap<>();
    o.path("migrations").fields().forEachRemaining(e -> migrations.put(e.getKey(), migration(e.getValue())));
    SortedMap<String, TokenRecord> tokens = new TreeMap<>();
    o.path("tokens").fields().forEachRemaining(e -> tokens.put(e.getKey(), token(e.getValue())));
    return new ClusterState(longValue(o, "index", "a snapshot"), nodes, apps, vms, migrations, tokens, o.path("bootstrapTokenIssued").asBoolean());
  }

  private ObjectNode node(NodeRecord n) {
    ObjectNode o = mapper.createObjectNode();
    o.put("id", n.id()).put("name", n.name()).put("address", n.address()).put("cpus", n.cpus()).put("memoryBytes", n.memoryBytes());
    ObjectNode labels = o.putObject("labels");
    n.labels().forEach(labels::put);
    n.runtimes().forEach(o.putArray("runtimes")::add);
    o.put("startedAtMillis", n.startedAtMillis());
    new java.util.TreeSet<>(n.taints()).forEach(o.putArray("taints")::add);
    o.put("draining", n.draining());
    o.put("vmRuntime", n.vmRuntime());
    return o;
  }

  private static NodeRecord node(JsonNode o) {
    String what = "a node";
    Map<String, String> labels = new LinkedHashMap<>();
    fields(o, "labels", what).forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
    List<String> runtimes = new ArrayList<>();
    required(o, "runtimes", what).forEach(r -> runtimes.add(r.asText()));
    java.util.Set<String> taints = new java.util.TreeSet<>();
    o.path("taints").forEach(t -> taints.add(t.asText()));
    return new NodeRecord(
        text(o, "id", what), text(o, "name", what), text(o, "address", what), required(o, "cpus", what).asDouble(),
        longValue(o, "memoryBytes", what), labels, runtimes, longValue(o, "startedAtMillis", what), taints, o.path("draining").asBoolean(false),
        o.path("vmRuntime").asText(""));
  }

  /*
   * Reading a record's fields. A record this version wrote has every field it reads; one that
   * lacks a field, or holds a value no version writes there, came from elsewhere (another program,
   * a damaged file, a peer that is not Hive) and is refused, naming the record and the field --
   * never a NullPointerException that stops the log being applied without saying why.
   */

  private static JsonNode required(JsonNode o, String field, String what) {
    JsonNode v = o.get(field);
    if (v == null) {
      throw new HiveException("the store holds " + what + " without its '" + field + "'; was it written by another program?");
    }
    return v;
  }

  private static String text(JsonNode o, String field, String what) {
    return required(o, field, what).asText();
  }

  private static long longValue(JsonNode o, String field, String what) {
    return required(o, field, what).asLong();
  }

  private static int intValue(JsonNode o, String field, String what) {
    return required(o, field, what).asInt();
  }

  private static boolean bool(JsonNode o, String field, String what) {
    return required(o, field, what).asBoolean();
  }

  /** The entries of an object field (none when it holds something else, as before). */
  private static java.util.Iterator<Map.Entry<String, JsonNode>> fields(JsonNode o, String field, String what) {
    return required(o, field, what).fields();
  }

  private static int ordinal(String key, String what) {
    try {
      return Integer.parseInt(key);
    } catch (NumberFormatException e) {
      throw new HiveException("the store holds " + what + " with slot '" + key + "', which is not an ordinal");
    }
  }

  private static <E extends Enum<E>> E enumValue(Class<E> type, JsonNode o, String field, String what) {
    String value = text(o, field, what);
    try {
      return Enum.valueOf(type, value);
    } catch (IllegalArgumentException e) {
      throw new HiveException("the store holds " + what + " whose " + field + " '" + value + "' is not a " + type.getSimpleName()
          + "; was it written by a newer Hive?");
    }
  }

  private byte[] bytes(JsonNode node) {
    try {
      return mapper.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new HiveException("cannot encode " + node, e);
    }
  }

  private JsonNode tree(byte[] bytes) {
    try {
      return mapper.readTree(bytes);
    } catch (IOException e) {
      throw new HiveException("the store holds a record that is not JSON: " + e.getMessage(), e);
    }
  }
}
