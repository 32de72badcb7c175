package dev.hive.api;

/** A node's part in keeping the cluster state. */
public enum NodeRole {
  /** The server that orders every change. */
  LEADER,
  /** One of the few nodes (1, 3 or 5) that vote on every change and hold the log. */
  SERVER,
  /** Follows the state from the servers and writes through them; holds no log and never votes. */
  CLIENT
}
