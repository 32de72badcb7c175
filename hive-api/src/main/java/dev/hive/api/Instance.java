package dev.hive.api;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** A read-only view of one instance of an app, as of the moment it was read. */
public interface Instance {
  /** Returns the instance's id, unique in the cluster (e.g. {@code web-0-3f9a1c}). */
  String id();

  /** Returns the name of its app. */
  String app();

  /** Returns its replica slot: the ordinal it fills among the app's replicas. */
  int ordinal();

  /** Returns the id of the node it is assigned to. */
  String node();

  /** Returns its state. */
  InstanceState state();

  /** Returns true when it passes its health check, or runs and has none. */
  boolean healthy();

  /** Returns the OS process id where the runtime has one. */
  OptionalLong pid();

  /** Returns the host port of each declared port, by port name, in declaration order. */
  Map<String, Integer> hostPorts();

  /** Returns how many times its workload has been started again after exiting or failing. */
  int restarts();

  /** Returns when its current workload was started, if it was. */
  Optional<Instant> startedAt();

  /** Returns the exit code of its last workload, where the runtime knows it. */
  OptionalInt exitCode();

  /** Returns why it is in its state, e.g. why it FAILED; empty when there is nothing to say. */
  String reason();

  /** Returns the name of the runtime that runs it. */
  String runtime();
}
