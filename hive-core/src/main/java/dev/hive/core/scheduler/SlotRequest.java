package dev.hive.core.scheduler;

import dev.hive.api.PlacementStrategy;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pending slots of one app, and what each of them needs.
 *
 * @param app the app's name
 * @param ordinals the ordinals of its slots waiting for a node
 * @param runtime the runtime a node must have
 * @param cpuMillis CPU each slot allocates, in thousandths of a core (0: none reserved)
 * @param memoryBytes memory each slot allocates (0: none reserved)
 * @param hostPorts fixed host ports each slot takes on its node
 * @param constraints labels a node must carry
 * @param tolerations taints tolerated: {@code key=value}, or {@code key} for any value
 * @param antiAffinity whether two slots of the app may share a node
 * @param strategy how candidate nodes are ranked
 * @param placedOn the nodes of the app's slots already placed (one entry per slot)
 * @param avoid per ordinal, nodes to use only when no other fits (where it kept failing)
 */
public record SlotRequest(
    String app,
    int[] ordinals,
    String runtime,
    long cpuMillis,
    long memoryBytes,
    List<Integer> hostPorts,
    Map<String, String> constraints,
    Set<String> tolerations,
    boolean antiAffinity,
    PlacementStrategy strategy,
    List<String> placedOn,
    Map<Integer, Set<String>> avoid) {
  public SlotRequest {
    ordinals = ordinals.clone();
    hostPorts = List.copyOf(hostPorts);
    constraints = Map.copyOf(constraints);
    tolerations = Set.copyOf(tolerations);
    placedOn = List.copyOf(placedOn);
    avoid = Map.copyOf(avoid);
  }

  /** Returns a copy of the ordinals. */
  @Override
  public int[] ordinals() {
    return ordinals.clone();
  }

  int ordinalCount() {
    return ordinals.length;
  }

  int ordinalAt(int i) {
    return ordinals[i];
  }
}
