/**
 * Discovery `udp`: authenticated broadcast beacons on UDP 8901.
 *
 * <p>Nothing is implemented here yet: this module arrives with the issue "Cluster formation".
 */
package dev.hive.discovery.udp;
