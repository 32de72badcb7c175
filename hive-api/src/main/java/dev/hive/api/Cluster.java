package dev.hive.api;

import java.util.List;
import java.util.function.Consumer;

/**
 * A running Hive node and its view of the cluster: the one owner of Hive's threads, sockets and
 * files. Close it to stop the node; workloads it started keep running unless their apps were
 * deleted, and are adopted when a node starts again on the same data dir.
 */
public interface Cluster extends AutoCloseable {
  /** Returns the node this object runs. */
  Node localNode();

  /** Returns every node of the cluster. */
  List<Node> nodes();

  /** Returns the cluster's apps. */
  Apps apps();

  /** Returns the cluster's virtual machines. */
  Vms vms();

  /** Returns file and directory transfers from this node to others. */
  Transfers transfers();

  /**
   * Drains a node: nothing new is placed on it and its replicas move to other nodes one slot at a
   * time (for a stateful app, never leaving a majority of its ordinals down). {@code enable=false}
   * ends the drain.
   *
   * @param node a node's id or name
   * @throws NotFoundException if no node has that id or name
   * @throws UnavailableException if this node cannot reach the majority of the cluster
   */
  Node drain(String node, boolean enable);

  /**
   * Returns what became of the write with request id {@code requestId}. Once the write's deadline
   * has passed the answer is final: a write not applied by then is refused for good.
   *
   * @throws NotFoundException if no write with that id is known to this node
   * @throws UnavailableException if the outcome cannot be settled now (no leader reachable)
   */
  CommandStatus commandStatus(String requestId);

  /** Checks the local node and returns the outcome. */
  ClusterHealth health();

  /**
   * Calls {@code listener} for every event from now on, on one Hive thread, in order. A listener
   * that throws is logged and kept.
   *
   * @return the subscription; close it to unsubscribe
   */
  Subscription subscribe(Consumer<HiveEvent> listener);

  /**
   * Returns the base URL of the node's REST API.
   *
   * @throws UnavailableException if the API was not enabled with {@link Hive.Builder#httpPort(int)}
   */
  String apiUrl();

  /** Stops the node: its threads, sockets and store. Idempotent. */
  @Override
  void close();
}
