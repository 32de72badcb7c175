/**
 * Virtual machines: {@link dev.hive.core.vm.VmService} is the cluster's VMs as one node sees them
 * (placement, each operation forwarded to the node whose hypervisor holds the VM), and {@link
 * dev.hive.core.vm.VmMigration} runs one COLD, WARM or LIVE move on the source node, reports its
 * progress, and rolls back by itself.
 */
package dev.hive.core.vm;
