package dev.hive.api;

import java.util.List;
import java.util.Optional;

/** The cluster's virtual machines. */
public interface Vms {
  /**
   * Defines and starts a VM on a node with a VM runtime and the memory and CPUs free (or on
   * {@link VmSpec#node()}). Nothing is left defined when it fails.
   *
   * @throws InvalidSpecException if no node could ever hold it (no VM runtime, too little memory),
   *     or a file it names is missing on the chosen node
   * @throws ConflictException if a VM of that name exists
   * @throws UnavailableException if the chosen node's hypervisor cannot be reached
   */
  Vm create(VmSpec spec);

  /** Returns the VM named {@code name}, if there is one. */
  Optional<Vm> get(String name);

  /**
   * Returns the VM named {@code name}.
   *
   * @throws NotFoundException if there is none
   */
  Vm require(String name);

  /** Returns every VM's status, asking each node for the VMs it holds. */
  List<VmStatus> list();

  /** Returns every migration the cluster has recorded, newest first. */
  List<MigrationStatus> migrations();

  /**
   * Returns a handle on a migration.
   *
   * @throws NotFoundException if none has that id
   */
  Migration migration(String id);
}
