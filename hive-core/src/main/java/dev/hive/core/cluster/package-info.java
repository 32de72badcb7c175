/**
 * Being one of a cluster: {@link dev.hive.core.cluster.ClusterNode} brings a node in (its
 * certificates, the transport, the Raft group, discovery), {@link
 * dev.hive.core.cluster.ClusterFormation} decides who founds the cluster and admits joiners that
 * know the token, and {@link dev.hive.core.cluster.SwimMembership} tells every member who is
 * ALIVE, SUSPECT, DEAD or LEFT.
 */
package dev.hive.core.cluster;
