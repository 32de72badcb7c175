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
  App deploy(AppSpec spec);

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
  void delete(String name);
}
