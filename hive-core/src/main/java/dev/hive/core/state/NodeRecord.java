package dev.hive.core.state;

import java.util.List;
import java.util.Map;

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
 */
public record NodeRecord(
    String id,
    String name,
    String address,
    double cpus,
    long memoryBytes,
    Map<String, String> labels,
    List<String> runtimes,
    long startedAtMillis) {
  public NodeRecord {
    labels = Map.copyOf(labels);
    runtimes = List.copyOf(runtimes);
  }
}
