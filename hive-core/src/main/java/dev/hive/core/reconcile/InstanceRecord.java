package dev.hive.core.reconcile;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.hive.api.InstanceState;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What a node's reconciler knows of one instance: the slot it fills, the workload it runs, its
 * state and restart bookkeeping. Persisted in the store's {@code instances} namespace (key {@code
 * app/ordinal}), so a restarted agent knows what it ran. The health counters are not persisted: a
 * restarted agent checks afresh.
 */
public final class InstanceRecord {
  public String id;
  public String app;
  public int ordinal;
  public int generation;
  public String node;
  public String runtime;
  public InstanceState state = InstanceState.PENDING;
  public String reason = "";
  public Long pid;
  public Map<String, Integer> hostPorts = new LinkedHashMap<>();
  public int restarts;
  public int consecutiveFailures;
  public boolean everStarted;
  public Long startedAtMillis;
  public Integer exitCode;
  /** When a STOPPED or FAILED instance is started again; null when it is not to be. */
  public Long nextStartAtMillis;

  /** Set once the slot was given back for failing beyond its restart limit here. */
  public boolean released;
  /** When it began draining out of its service before a stop; null when it is not draining. */
  public Long drainingSinceMillis;

  @JsonIgnore int healthPasses;
  @JsonIgnore int healthFailures;
  @JsonIgnore long nextCheckAtMillis;
  @JsonIgnore String lastProbeDetail = "";
  @JsonIgnore CompletableFuture<HealthProber.Result> probe;

  /** Returns the key of the slot this instance fills. */
  @JsonIgnore
  public String slotKey() {
    return slotKey(app, ordinal);
  }

  static String slotKey(String app, int ordinal) {
    return app + "/" + ordinal;
  }

  InstanceRecord copy() {
    InstanceRecord c = new InstanceRecord();
    c.id = id;
    c.app = app;
    c.ordinal = ordinal;
    c.generation = generation;
    c.node = node;
    c.runtime = runtime;
    c.state = state;
    c.reason = reason;
    c.pid = pid;
    c.hostPorts = new LinkedHashMap<>(hostPorts);
    c.restarts = restarts;
    c.consecutiveFailures = consecutiveFailures;
    c.everStarted = everStarted;
    c.startedAtMillis = startedAtMillis;
    c.exitCode = exitCode;
    c.nextStartAtMillis = nextStartAtMillis;
    c.released = released;
    c.drainingSinceMillis = drainingSinceMillis;
    return c;
  }
}
