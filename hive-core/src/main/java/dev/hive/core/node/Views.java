package dev.hive.core.node;

import dev.hive.api.ClusterHealth;
import dev.hive.api.Instance;
import dev.hive.api.InstanceState;
import dev.hive.api.Node;
import dev.hive.api.NodeRole;
import dev.hive.api.NodeState;
import dev.hive.core.reconcile.InstanceRecord;
import dev.hive.core.state.NodeRecord;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** Immutable views handed to API users. */
final class Views {
  private Views() {}

  record InstanceView(
      String id,
      String app,
      int ordinal,
      String node,
      InstanceState state,
      boolean healthy,
      OptionalLong pid,
      Map<String, Integer> hostPorts,
      int restarts,
      Optional<Instant> startedAt,
      OptionalInt exitCode,
      String reason,
      String runtime)
      implements Instance {
    static InstanceView of(InstanceRecord r, boolean healthy) {
      return new InstanceView(
          r.id, r.app, r.ordinal, r.node, r.state, healthy,
          r.pid == null ? OptionalLong.empty() : OptionalLong.of(r.pid),
          java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(r.hostPorts)),
          r.restarts,
          Optional.ofNullable(r.startedAtMillis).map(Instant::ofEpochMilli),
          r.exitCode == null ? OptionalInt.empty() : OptionalInt.of(r.exitCode),
          r.reason, r.runtime);
    }
  }

  record NodeView(
      String id, String name, String address, Map<String, String> labels, double cpus, long memoryBytes,
      List<String> runtimes, Instant startedAt, boolean local, NodeState state, NodeRole role, Instant lastSeen,
      java.util.Set<String> taints, boolean draining)
      implements Node {
    static NodeView of(NodeRecord n, boolean local, NodeState state, NodeRole role, Instant lastSeen) {
      return new NodeView(n.id(), n.name(), n.address(), n.labels(), n.cpus(), n.memoryBytes(), n.runtimes(),
          Instant.ofEpochMilli(n.startedAtMillis()), local, state, role, lastSeen, n.taints(), n.draining());
    }
  }

  record HealthView(boolean healthy, Map<String, String> checks) implements ClusterHealth {}
}
