/**
 * Discovery and transport `libp2p`: Noise, yamux, Kademlia DHT and gossipsub, wire-compatible with libp2p.
 *
 * <p>Nothing is implemented here yet: this module arrives with the issue "libp2p".
 */
package dev.hive.discovery.libp2p;
