package dev.hive.api;

import java.time.Instant;
import java.util.Objects;

/** Something that happened in the cluster. Immutable. */
public final class HiveEvent {
  /** What happened. */
  public enum Type {
    /** The local node started. */
    NODE_STARTED,
    /** An app was deployed. */
    APP_DEPLOYED,
    /** An app's replica count changed. */
    APP_SCALED,
    /** An app's instances are being replaced. */
    APP_RESTARTED,
    /** An app was deleted. */
    APP_DELETED,
    /** An instance changed state; {@link #state()} is the new one. */
    INSTANCE_STATE_CHANGED,
    /** An instance's workload was started again after it exited or failed. */
    INSTANCE_RESTARTED,
    /** A workload that survived an agent restart was adopted. */
    INSTANCE_ADOPTED,
    /** A node was drained, or its drain ended. */
    NODE_DRAINED,
    /** A VM was created, changed state or was removed; the message says which. */
    VM_CHANGED,
    /** A VM migration started, ended or rolled back; the message says which. */
    VM_MIGRATION
  }

  private final Type type;
  private final Instant time;
  private final String app;
  private final String instanceId;
  private final InstanceState state;
  private final String message;

  /**
   * @param type what happened
   * @param time when
   * @param app the app concerned, or null
   * @param instanceId the instance concerned, or null
   * @param state the instance's new state, or null
   * @param message a line for people
   */
  public HiveEvent(Type type, Instant time, String app, String instanceId, InstanceState state, String message) {
    this.type = Objects.requireNonNull(type, "type");
    this.time = Objects.requireNonNull(time, "time");
    this.app = app;
    this.instanceId = instanceId;
    this.state = state;
    this.message = message == null ? "" : message;
  }

  /** Returns what happened. */
  public Type type() {
    return type;
  }

  /** Returns when it happened. */
  public Instant time() {
    return time;
  }

  /** Returns the app concerned, or null. */
  public String app() {
    return app;
  }

  /** Returns the instance concerned, or null. */
  public String instanceId() {
    return instanceId;
  }

  /** Returns the instance's new state for instance events, or null. */
  public InstanceState state() {
    return state;
  }

  /** Returns a line for people. */
  public String message() {
    return message;
  }

  @Override
  public String toString() {
    return time + " " + type + (instanceId != null ? " " + instanceId : app != null ? " " + app : "")
        + (state != null ? " " + state : "") + (message.isEmpty() ? "" : ": " + message);
  }
}
