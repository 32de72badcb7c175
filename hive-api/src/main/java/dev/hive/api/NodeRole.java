package dev.hive.api;

/** A node's part in keeping the cluster state. */
public enum NodeRole {
  /** The voter that orders every change. */
  LEADER,
  /** One of up to five nodes that vote on every change. */
  VOTER,
  /** Follows the state without voting. */
  MEMBER
}
