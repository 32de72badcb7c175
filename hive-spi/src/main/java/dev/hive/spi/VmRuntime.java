package dev.hive.spi;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Runs virtual machines on one node (libvirt for QEMU/KVM). Domains are named by the VM's name.
 * Definitions, statistics and migration arrive with the issue "VMs and migration", together with
 * the VM runtime's compatibility kit.
 */
public interface VmRuntime extends AutoCloseable {
  /** Returns the plugin's name. */
  String name();

  /** Returns the names of the VMs this runtime knows, running or not. */
  List<String> list();

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

  /** Saves RAM and device state to {@code file} and stops the VM. */
  void save(String vm, Path file);

  /** Restores a VM saved by {@link #save(String, Path)} and runs it. */
  void restore(Path file);

  /** Releases the runtime's connection; VMs keep running. */
  @Override
  void close();
}
