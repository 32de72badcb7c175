package dev.hive.api;

import java.time.Duration;
import java.util.List;

/** A deployed app. Methods read or change the cluster's state; the view itself is immutable. */
public interface App {
  /** Returns the app's name. */
  String name();

  /** Returns the app's current spec, with its current replica count. */
  AppSpec spec();

  /** Returns its instances, one per replica slot that has one. */
  List<Instance> instances();

  /**
   * Sets the desired number of instances.
   *
   * @throws InvalidSpecException if {@code replicas} is negative or too large
   * @throws NotFoundException if the app was deleted meanwhile
   */
  default App scale(int replicas) {
    return scale(replicas, WriteOptions.DEFAULTS);
  }

  /**
   * Sets the desired number of instances as one write with {@code options} (see
   * {@link Apps#deploy(AppSpec, WriteOptions)}).
   *
   * @throws InvalidSpecException if {@code replicas} is negative or too large
   * @throws NotFoundException if the app was deleted meanwhile
   * @throws ConflictException if the request id was used for another write
   * @throws OutcomeUnknownException if no outcome reached this node before the write's deadline
   */
  App scale(int replicas, WriteOptions options);

  /**
   * Replaces every instance, one at a time.
   *
   * @throws NotFoundException if the app was deleted meanwhile
   */
  App restart();

  /**
   * Waits until the app has exactly its desired number of instances and all are healthy.
   *
   * @throws HiveException if that does not happen within {@code timeout}, naming the instances
   *     that are not healthy
   */
  App awaitHealthy(Duration timeout);

  /**
   * Returns the last {@code lines} lines of an instance's output (stdout and stderr).
   *
   * @throws NotFoundException if this app has no such instance
   * @throws InvalidSpecException if {@code lines} is not positive
   */
  List<String> logs(String instanceId, int lines);
}
