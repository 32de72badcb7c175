package dev.hive.core.state;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A node as the cluster state records it.
 *
 * @param id stable id (kept in the node's data dir)
 * @param name human name
 * @param address where clients reach it
 * @param cpus cores offered to workloads
 * @param memoryBytes memory offered to workloads
 * @param labels placement labels
 * @param runtimes names of its workload runtimes
 * @param startedAtMillis when its agent started
 * @param taints taints ({@code key=value}) an app must tolerate to be placed here
 * @param draining whether the node is drained (set by the cluster, kept across re-registrations)
 * @param vmRuntime the name of its VM runtime, or "" when it runs no VMs
 */
public record NodeRecord(
    String id,
    String name,
    String address,
    double cpus,
    long memoryBytes,
    Map<String, String> labels,
    List<String> runtimes,
    long startedAtMillis,
    Set<String> taints,
    boolean draining,
    String vmRuntime) {
  public NodeRecord {
    vmRuntime = vmRuntime == null ? "" : vmRuntime;
    labels = Map.copyOf(labels);
    runtimes = List.copyOf(runtimes);
    taints = Set.copyOf(taints);
  }

  /** A node without a VM runtime. */
  public NodeRecord(String id, String name, String address, double cpus, long memoryBytes, Map<String, String> labels, List<String> runtimes,
      long startedAtMillis, Set<String> taints, boolean draining) {
    this(id, name, address, cpus, memoryBytes, labels, runtimes, startedAtMillis, taints, draining, "");
  }

  /** A node without taints, not drained. */
  public NodeRecord(String id, String name, String address, double cpus, long memoryBytes, Map<String, String> labels, List<String> runtimes,
      long startedAtMillis) {
    this(id, name, address, cpus, memoryBytes, labels, runtimes, startedAtMillis, Set.of(), false);
  }

  /** Returns this record with another runtime list. */
  public NodeRecord withRuntimes(List<String> names) {
    return new NodeRecord(id, name, address, cpus, memoryBytes, labels, names, startedAtMillis, taints, draining, vmRuntime);
  }

  NodeRecord withDraining(boolean d) {
    return new NodeRecord(id, name, address, cpus, memoryBytes, labels, runtimes, startedAtMillis, taints, d, vmRuntime);
  }
}
