/**
 * Discovery `mdns`: service type `_hive._tcp.local.` through jmdns.
 *
 * <p>Nothing is implemented here yet: this module arrives with the issue "Cluster formation".
 */
package dev.hive.discovery.mdns;
