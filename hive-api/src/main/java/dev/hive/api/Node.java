package dev.hive.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** A read-only view of a node of the cluster. */
public interface Node {
  /** Returns the node's id, stable across restarts on the same data dir. */
  String id();

  /** Returns its human name (the host name unless configured). */
  String name();

  /** Returns the address other nodes and clients reach it at. */
  String address();

  /** Returns its labels. */
  Map<String, String> labels();

  /** Returns the CPU cores it offers to workloads. */
  double cpus();

  /** Returns the memory it offers to workloads, in bytes. */
  long memoryBytes();

  /** Returns the names of the workload runtimes it has. */
  List<String> runtimes();

  /** Returns when its agent started. */
  Instant startedAt();

  /** Returns true for the node this view was read on. */
  boolean local();

  /** Returns its membership state as the node answering sees it. */
  NodeState state();

  /** Returns its part in keeping the cluster state. */
  NodeRole role();

  /** Returns its taints ({@code key=value}): only apps that tolerate them are placed there. */
  java.util.Set<String> taints();

  /** Returns true while the node is drained: no new replicas go there and its own move off. */
  boolean draining();

  /** Returns when the node answering last heard from it directly (its own node: now). */
  Instant lastSeen();
}
