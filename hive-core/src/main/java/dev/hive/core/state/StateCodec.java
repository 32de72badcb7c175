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
    return new Request(o.get("requestId").asText(), o.path("deadlineMillis").asLong(), o.path("stampMillis").asLong(),
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
    switch (type) {
      case "register-node":
        return new Command.RegisterNode(node(o.get("node")));
      case "deploy-app":
        return new Command.DeployApp(AppSpecCodec.fromJson(o.get("spec")), o.get("atMillis").asLong());
      case "scale-app":
        return new Command.ScaleApp(o.get("app").asText(), o.get("replicas").asInt());
      case "restart-app":
        return new Command.RestartApp(o.get("app").asText());
      case "delete-app":
        return new Command.DeleteApp(o.get("app").asText());
      case "assign-slots":
        Map<Integer, String> assignments = new HashMap<>();
        o.get("assignments").fields().forEachRemaining(e -> assignments.put(Integer.parseInt(e.getKey()), e.getValue().asText()));
        return new Command.AssignSlots(o.get("app").asText(), assignments);
      case "unassign-slots":
        Map<Integer, String> from = new HashMap<>();
        o.get("from").fields().forEachRemaining(e -> from.put(Integer.parseInt(e.getKey()), e.getValue().asText()));
        return new Command.UnassignSlots(o.get("app").asText(), from, o.get("avoid").asBoolean());
      case "restart-slot":
        return new Command.RestartSlot(o.get("app").asText(), o.get("ordinal").asInt(), o.get("generation").asInt());
      case "report-ready":
        Map<String, Integer> ready = new HashMap<>();
        o.get("ready").fields().forEachRemaining(e -> ready.put(e.getKey(), e.getValue().asInt()));
        return new Command.ReportReady(o.get("node").asText(), ready);
      case "set-draining":
        return new Command.SetDraining(o.get("node").asText(), o.get("draining").asBoolean());
      case "set-pending-reason":
        return new Command.SetPendingReason(o.get("app").asText(), o.get("reason").asText());
      case "create-vm":
        return new Command.CreateVm(VmSpecCodec.fromJson(o.get("spec")), o.get("node").asText(), o.get("atMillis").asLong());
      case "delete-vm":
        return new Command.DeleteVm(o.get("vm").asText());
      case "start-migration":
        return new Command.StartMigration(migration(o.get("migration")));
      case "finish-migration":
        return new Command.FinishMigration(o.get("id").asText(), dev.hive.api.MigrationState.valueOf(o.get("state").asText()),
            o.get("atMillis").asLong(), o.get("totalMs").asLong(), o.get("downtimeMs").asLong(), o.get("bytes").asLong(), o.get("error").asText());
      case "create-token":
        return new Command.CreateToken(token(o.get("token")), o.get("bootstrap").asBoolean());
      case "revoke-token":
        return new Command.RevokeToken(o.get("name").asText());
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
      outcomes.add(new RequestLedger.Outcome(r.get("id").asText(), r.get("applied").asBoolean(), r.get("logIndex").asLong(),
          r.get("refusal").asText(), r.get("digest").asText(), r.get("deadlineMillis").asLong()));
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
    return new TokenRecord(t.get("name").asText(), t.get("role").asText(), t.get("sha256").asText(), t.get("createdAtMillis").asLong(),
        t.get("expiresAtMillis").asLong());
  }

  private ObjectNode migration(MigrationRecord m) {
    return mapper.createObjectNode().put("id", m.id()).put("vm", m.vm()).put("mode", m.mode().name()).put("source", m.source())
        .put("target", m.target()).put("state", m.state().name()).put("startedAtMillis", m.startedAtMillis())
        .put("finishedAtMillis", m.finishedAtMillis()).put("totalMs", m.totalMs()).put("downtimeMs", m.downtimeMs()).put("bytes", m.bytes())
        .put("error", m.error());
  }

  private static MigrationRecord migration(JsonNode m) {
    return new MigrationRecord(m.get("id").asText(), m.get("vm").asText(), dev.hive.api.MigrationMode.valueOf(m.get("mode").asText()),
        m.get("source").asText(), m.get("target").asText(), dev.hive.api.MigrationState.valueOf(m.get("state").asText()),
        m.get("startedAtMillis").asLong(), m.get("finishedAtMillis").asLong(), m.get("totalMs").asLong(), m.get("downtimeMs").asLong(),
        m.get("bytes").asLong(), m.get("error").asText());
  }

  /** Decodes a snapshot. */
  public ClusterState decodeState(byte[] bytes) {
    JsonNode o = tree(bytes);
    SortedMap<String, NodeRecord> nodes = new TreeMap<>();
    o.get("nodes").fields().forEachRemaining(e -> nodes.put(e.getKey(), node(e.getValue())));
    SortedMap<String, AppRecord> apps = new TreeMap<>();
    o.get("apps")
        .fields()
        .forEachRemaining(
            e -> {
              JsonNode a = e.getValue();
              SortedMap<Integer, Slot> slots = new TreeMap<>();
              a.get("slots").fields().forEachRemaining(s -> {
                JsonNode so = s.getValue();
                java.util.TreeSet<String> avoid = new java.util.TreeSet<>();
                so.path("avoid").forEach(n -> avoid.add(n.asText()));
                slots.put(Integer.parseInt(s.getKey()), new Slot(so.get("node").asText(), so.get("generation").asInt(), so.get("ready").asBoolean(), avoid));
              });
              apps.put(e.getKey(), new AppRecord(AppSpecCodec.fromJson(a.get("spec")), a.get("generation").asInt(), a.get("createdAtMillis").asLong(), slots,
                  a.path("pendingReason").asText("")));
            });
    SortedMap<String, VmRecord> vms = new TreeMap<>();
    o.path("vms").fields().forEachRemaining(e -> {
      JsonNode v = e.getValue();
      vms.put(e.getKey(), new VmRecord(VmSpecCodec.fromJson(v.get("spec")), v.get("node").asText(), v.get("createdAtMillis").asLong(),
          v.get("migration").asText()));
    });
    SortedMap<String, MigrationRecord> migrations = new TreeMap<>();
    o.path("migrations").fields().forEachRemaining(e -> migrations.put(e.getKey(), migration(e.getValue())));
    SortedMap<String, TokenRecord> tokens = new TreeMap<>();
    o.path("tokens").fields().forEachRemaining(e -> tokens.put(e.getKey(), token(e.getValue())));
    return new ClusterState(o.get("index").asLong(), nodes, apps, vms, migrations, tokens, o.path("bootstrapTokenIssued").asBoolean());
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
    Map<String, String> labels = new LinkedHashMap<>();
    o.get("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
    List<String> runtimes = new ArrayList<>();
    o.get("runtimes").forEach(r -> runtimes.add(r.asText()));
    java.util.Set<String> taints = new java.util.TreeSet<>();
    o.path("taints").forEach(t -> taints.add(t.asText()));
    return new NodeRecord(
        o.get("id").asText(), o.get("name").asText(), o.get("address").asText(), o.get("cpus").asDouble(),
        o.get("memoryBytes").asLong(), labels, runtimes, o.get("startedAtMillis").asLong(), taints, o.path("draining").asBoolean(false),
        o.path("vmRuntime").asText(""));
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
