/**
 * Being one of a cluster: {@link dev.hive.core.cluster.ClusterNode} brings a node in (its
 * certificates, the transport, its role, discovery), {@link
 * dev.hive.core.cluster.ClusterFormation} decides who founds the cluster and admits joiners that
 * know the token, {@link dev.hive.core.cluster.SwimMembership} tells every member who is ALIVE,
 * SUSPECT, DEAD or LEFT, {@link dev.hive.core.cluster.ServerKeeping} keeps the number of servers
 * (Raft voters) and {@link dev.hive.core.cluster.RoleChanges} makes a client a server, or a
 * server a client, when the leader asks.
 */
package dev.hive.core.cluster;
