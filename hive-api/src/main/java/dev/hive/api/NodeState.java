package dev.hive.api;

/** A node's membership state, as the node answering sees it. */
public enum NodeState {
  /** Answering probes. */
  ALIVE,
  /** Missed a probe and its indirect probes; it has a little while to refute before it is DEAD. */
  SUSPECT,
  /** Confirmed failed. */
  DEAD,
  /** Left the cluster on purpose ({@code leave}). */
  LEFT
}
