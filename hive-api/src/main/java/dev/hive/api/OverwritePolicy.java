package dev.hive.api;

/** What a receiver does when the destination name is taken. */
public enum OverwritePolicy {
  /** Refuse the transfer before any byte moves. */
  FAIL,
  /** Replace the existing file or directory, atomically, once the new one is verified. */
  REPLACE
}
