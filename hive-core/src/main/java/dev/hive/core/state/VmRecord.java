package dev.hive.core.state;

import dev.hive.api.VmSpec;

/**
 * A VM as the cluster state records it.
 *
 * @param spec what it is
 * @param node the id of the node whose hypervisor holds it
 * @param createdAtMillis when it was created
 * @param migration the id of the migration moving it now, or ""
 */
public record VmRecord(VmSpec spec, String node, long createdAtMillis, String migration) {
  public String name() {
    return spec.name();
  }

  VmRecord with(String newNode, String newMigration) {
    return new VmRecord(spec, newNode, createdAtMillis, newMigration);
  }
}
