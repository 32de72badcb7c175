package dev.hive.core.node;

import dev.hive.api.Instance;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.UnavailableException;
import dev.hive.core.cluster.ClusterNode;
import dev.hive.core.consensus.CommandLog;
import dev.hive.core.monitor.Monitoring;
import dev.hive.core.reconcile.InstanceRecord;
import dev.hive.core.reconcile.Reconciler;
import dev.hive.core.state.AppRecord;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.NodeRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's instances as one node sees them: its own, from its reconciler, and every other
 * live member's, asked for on the transport ({@value #INSTANCES_TOPIC}, {@value
 * #INSTANCE_METRICS_TOPIC}, {@value #LOGS_TOPIC}) when a caller wants them all.
 */
final class ClusterInstances {
  private static final Logger log = LoggerFactory.getLogger(ClusterInstances.class);

  private final NodeRecord self;
  private final CommandLog commands;
  private final Reconciler reconciler;
  private final Monitoring monitoring;
  private final ClusterNode clusterNode;

  ClusterInstances(NodeRecord self, CommandLog commands, Reconciler reconciler, Monitoring monitoring, ClusterNode clusterNode) {
    this.self = self;
    this.commands = commands;
    this.reconciler = reconciler;
    this.monitoring = monitoring;
    this.clusterNode = clusterNode;
  }

  /** Answers the other members' questions about this node's instances. */
  void attach() {
    if (clusterNode == null) {
      return;
    }
    clusterNode.handle(INSTANCES_TOPIC, (from, topic, payload) -> InstanceCodec.encode(local()));
    clusterNode.handle(LOGS_TOPIC, (from, topic, payload) -> {
      String[] request = new String(payload, java.nio.charset.StandardCharsets.UTF_8).split("\n", 2);
      return String.join("\n", reconciler.logs(request[0], Integer.parseInt(request[1]))).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    });
    clusterNode.handle(INSTANCE_METRICS_TOPIC, (from, topic, payload) -> InstanceCodec.encodeSamples(monitoring.instances().values()));
  }

  static final String INSTANCES_TOPIC = "hive.instances";
  static final String INSTANCE_METRICS_TOPIC = "hive.instance-metrics";
  static final String LOGS_TOPIC = "hive.logs";

  /** Returns the instances this node runs. */
  List<Instance> local() {
    ClusterState state = commands.state();
    List<Instance> result = new ArrayList<>();
    for (InstanceRecord r : reconciler.instances()) {
      AppRecord app = state.apps().get(r.app);
      result.add(Views.InstanceView.of(r, Reconciler.healthy(r, app == null ? null : app.spec())));
    }
    return result;
  }

  /** Returns every instance in the cluster (asking each live member), ordered by app then ordinal. */
  List<Instance> all() {
    List<Instance> result = new ArrayList<>(local());
    result.addAll(askLiveMembers(INSTANCES_TOPIC, InstanceCodec::decode, "instances"));
    result.sort(Comparator.comparing(Instance::app).thenComparingInt(Instance::ordinal));
    return result;
  }

  /**
   * Asks every other live member at once and gathers the decoded answers; a member that does not
   * answer within seconds is left out (the caller shows what the others said).
   */
  private <T> List<T> askLiveMembers(String topic, java.util.function.Function<byte[], List<T>> decode, String what) {
    List<T> result = new ArrayList<>();
    if (clusterNode == null) {
      return result;
    }
    List<java.util.concurrent.CompletableFuture<byte[]>> answers = new ArrayList<>();
    for (dev.hive.core.cluster.Member m : clusterNode.members()) {
      if (!m.id().equals(self.id()) && m.state() == dev.hive.api.NodeState.ALIVE) {
        answers.add(clusterNode.transport().request(m.peer(), topic, new byte[0], Duration.ofSeconds(3)));
      }
    }
    for (java.util.concurrent.CompletableFuture<byte[]> answer : answers) {
      try {
        result.addAll(decode.apply(answer.get(5, TimeUnit.SECONDS)));
      } catch (Exception e) {
        log.debug("a member did not send its {}: {}", what, e.getMessage());
      }
    }
    return result;
  }

  /**
   * Returns the instance with this id.
   *
   * @throws NotFoundException if there is none
   */
  Instance get(String id) {
    return all().stream()
        .filter(i -> i.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new NotFoundException("there is no instance '" + id + "'; `hive app containers` lists them"));
  }

  /**
   * Returns the last lines of an instance's output.
   *
   * @throws NotFoundException if there is no such instance
   */
  List<String> logs(String instanceId, int lines) {
    if (lines <= 0 || lines > 100_000) {
      throw new InvalidSpecException("tail", lines + " is out of range; ask for 1..100000 lines");
    }
    Instance instance = get(instanceId);
    if (clusterNode == null || instance.node().equals(self.id())) {
      return reconciler.logs(instanceId, lines);
    }
    dev.hive.spi.DiscoveredPeer peer = clusterNode.peerOf(instance.node());
    if (peer == null) {
      throw new UnavailableException("node " + instance.node() + " of instance " + instanceId + " is not reachable");
    }
    try {
      byte[] answer = clusterNode.transport().request(peer, LOGS_TOPIC, (instanceId + "\n" + lines).getBytes(java.nio.charset.StandardCharsets.UTF_8),
          Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
      String text = new String(answer, java.nio.charset.StandardCharsets.UTF_8);
      return text.isEmpty() ? List.of() : List.of(text.split("\n", -1));
    } catch (Exception e) {
      throw new UnavailableException("cannot read the logs of " + instanceId + " from node " + instance.node() + ": " + e.getMessage(), e);
    }
  }

  /** Returns the latest resource samples of every instance in the cluster (asking each live member). */
  List<dev.hive.core.monitor.InstanceSample> metrics() {
    List<dev.hive.core.monitor.InstanceSample> result = new ArrayList<>(monitoring.instances().values());
    result.addAll(askLiveMembers(INSTANCE_METRICS_TOPIC, InstanceCodec::decodeSamples, "instance metrics"));
    return result;
  }
}
