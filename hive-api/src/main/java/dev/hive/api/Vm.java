package dev.hive.api;

import java.time.Duration;

/** A handle on one VM of the cluster, by name; every call asks the node it is on. */
public interface Vm {
  /** Returns its name. */
  String name();

  /** Returns the spec it was created from. */
  VmSpec spec();

  /**
   * Returns its state and statistics now.
   *
   * @throws NotFoundException if it was removed
   */
  VmStatus status();

  /**
   * Starts it if it is shut off.
   *
   * @throws UnavailableException if its node or hypervisor cannot be reached
   * @throws ConflictException if it is being migrated
   */
  void start();

  /**
   * Asks the guest to shut down (ACPI) and stops it at once when it has not after {@code grace}.
   *
   * @throws UnavailableException if its node or hypervisor cannot be reached
   * @throws ConflictException if it is being migrated
   */
  void stop(Duration grace);

  /**
   * Pauses its vCPUs; it stays in memory.
   *
   * @throws ConflictException if it is not running or is being migrated
   */
  void suspend();

  /**
   * Resumes a suspended VM.
   *
   * @throws ConflictException if it is not paused or is being migrated
   */
  void resume();

  /**
   * Stops it at once and removes its definition from its node and from the cluster. Disk images
   * are left where they are.
   *
   * @throws ConflictException if it is being migrated
   */
  void delete();

  /**
   * Moves it to another node; rolls back by itself on any failure, so the VM runs on the source
   * again and nothing is left on the target.
   *
   * @param target the id or name of the node to move it to
   * @throws InvalidSpecException if the target is its own node or has no VM runtime
   * @throws NotFoundException if no node has that id or name
   * @throws ConflictException if it is already being migrated
   * @throws UnavailableException if its node or the target cannot be reached
   */
  Migration migrate(String target, MigrationMode mode, MigrationOptions options);
}
