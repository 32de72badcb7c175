package dev.hive.spi;

import dev.hive.api.VmSpec;
import dev.hive.api.VmState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Runs virtual machines on one node's hypervisor (libvirt for QEMU/KVM). A VM's domain is named
 * by its name; a runtime lists and touches only the VMs it defined (so it shares a hypervisor with
 * other users safely), and finds them again after its node restarts. Every method that names a VM
 * the hypervisor does not have throws {@link dev.hive.api.NotFoundException}; a hypervisor that
 * does not answer is an {@link dev.hive.api.UnavailableException}.
 */
public interface VmRuntime extends AutoCloseable {
  /** Returns the plugin's name. */
  String name();

  /**
   * Returns the URI a peer hypervisor reaches this one at for peer-to-peer live migration, e.g.
   * {@code qemu+tcp://10.0.0.2/system}.
   */
  String migrationUri();

  /** Returns the names of the VMs this runtime defined here, running or not. */
  List<String> list();

  /**
   * Defines a VM (not started). Nothing is left defined when it fails.
   *
   * @throws dev.hive.api.ConflictException if the hypervisor has a domain of that name
   * @throws dev.hive.api.InvalidSpecException if a file it names is missing here, or the
   *     hypervisor refuses the definition (its reason included)
   */
  void define(VmSpec spec);

  /** Stops the VM if it runs and removes its definition; nothing happens when it is not here. */
  void undefine(String vm);

  /** Returns the VM's state, or empty when it is not defined here. */
  Optional<VmState> state(String vm);

  /** Returns the VM's state and counters. */
  VmStats stats(String vm);

  /** Starts a defined VM. */
  void start(String vm);

  /** Asks the guest to shut down (ACPI) and destroys it when it has not after {@code grace}. */
  void shutdown(String vm, Duration grace);

  /** Stops the VM at once. */
  void destroy(String vm);

  /** Pauses the VM's vCPUs. */
  void suspend(String vm);

  /** Resumes a suspended VM. */
  void resume(String vm);

  /** Saves RAM and device state to {@code file} and stops the VM; its definition stays. */
  void save(String vm, Path file);

  /**
   * Restores a VM saved by {@link #save(String, Path)} and leaves it running and defined here,
   * with its disks at {@code spec}'s paths (in order) when they differ from the saved ones.
   */
  void restore(Path file, VmSpec spec);

  /**
   * Migrates a running VM to the hypervisor at {@code targetUri} (peer-to-peer, pre-copy),
   * defining it there and removing it here when it succeeds. Blocks until it ends; calls
   * {@code progress} about every {@code pollInterval} and, when it succeeds, once more with the
   * completed job's figures, so a migration shorter than one poll is still reported. On failure
   * or {@link #abortMigration} the VM keeps running here.
   *
   * @return what the hypervisor measured
   * @throws dev.hive.api.HiveException with the hypervisor's reason when it fails or is aborted
   */
  LiveMigrationResult migrateLive(String vm, String targetUri, LiveMigrationRequest request, Duration pollInterval,
      Consumer<LiveMigrationProgress> progress);

  /** Aborts the VM's running migration, if any. */
  void abortMigration(String vm);

  /**
   * Calls {@code listener} with a VM's name and new state whenever the hypervisor reports a
   * change (started, stopped, paused, resumed, crashed), from a runtime thread.
   */
  void onStateChange(BiConsumer<String, VmState> listener);

  /** Releases the runtime's connection; VMs keep running. */
  @Override
  void close();
}
