package dev.hive.core.scheduler;

import java.util.Map;
import java.util.Set;

/**
 * A node as the scheduler sees it: what it offers, what is already allocated on it, and what
 * decides whether an app may go there at all.
 *
 * @param id the node's id
 * @param cpuMillis CPU offered, in thousandths of a core
 * @param memoryBytes memory offered
 * @param usedCpuMillis CPU already allocated to slots on it
 * @param usedMemoryBytes memory already allocated to slots on it
 * @param usedHostPorts fixed host ports already taken on it
 * @param labels its labels, matched by constraints
 * @param taints its taints ({@code key=value}), each of which an app must tolerate
 * @param runtimes its workload runtimes
 */
public record NodeCapacity(
    String id,
    long cpuMillis,
    long memoryBytes,
    long usedCpuMillis,
    long usedMemoryBytes,
    Set<Integer> usedHostPorts,
    Map<String, String> labels,
    Set<String> taints,
    Set<String> runtimes) {
  public NodeCapacity {
    usedHostPorts = Set.copyOf(usedHostPorts);
    labels = Map.copyOf(labels);
    taints = Set.copyOf(taints);
    runtimes = Set.copyOf(runtimes);
  }
}
