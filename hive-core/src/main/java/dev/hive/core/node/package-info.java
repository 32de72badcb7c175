/**
 * A node's lifecycle and wiring: {@link dev.hive.core.node.CoreEngine} (found by {@code
 * ServiceLoader}) builds a node from its configuration and plugins, and {@link
 * dev.hive.core.node.LocalCluster} is the {@code Cluster} it returns, joining the concerns that
 * live in their own packages (cluster, vm, transfer, service, monitor) to the state and the API.
 */
package dev.hive.core.node;
