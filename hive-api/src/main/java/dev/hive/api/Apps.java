package dev.hive.api;

import java.util.List;
import java.util.Optional;

/** The apps of a cluster. */
public interface Apps {
  /**
   * Deploys a new app. Nothing is written when it is refused.
   *
   * @throws ConflictException if an app of that name exists
   * @throws InvalidSpecException if the spec names a runtime this cluster does not have, or asks
   *     a runtime for what it cannot run (an image on the process runtime)
   */
  default App deploy(AppSpec spec) {
    return deploy(spec, WriteOptions.DEFAULTS);
  }

  /**
   * Deploys a new app as one write with {@code options}: sent again with the same request id, it
   * returns the first outcome instead of deploying twice.
   *
   * @throws ConflictException if an app of that name exists, or the request id was used for
   *     another write
   * @throws InvalidSpecException as {@link #deploy(AppSpec)}
   * @throws OutcomeUnknownException if no outcome reached this node before the write's deadline
   */
  App deploy(AppSpec spec, WriteOptions options);

  /** Returns the app named {@code name}, if it exists. */
  Optional<App> get(String name);

  /**
   * Returns the app named {@code name}.
   *
   * @throws NotFoundException if there is none
   */
  App require(String name);

  /** Returns every app, by name. */
  List<App> list();

  /**
   * Deletes an app and stops its instances.
   *
   * @throws NotFoundException if there is no such app
   */
  default void delete(String name) {
    delete(name, WriteOptions.DEFAULTS);
  }

  /**
   * Deletes an app as one write with {@code options} (see {@link #deploy(AppSpec, WriteOptions)}).
   *
   * @throws NotFoundException if there is no such app
   * @throws ConflictException if the request id was used for another write
   * @throws OutcomeUnknownException if no outcome reached this node before the write's deadline
   */
  void delete(String name, WriteOptions options);
}
