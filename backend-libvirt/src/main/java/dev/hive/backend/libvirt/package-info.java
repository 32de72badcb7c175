/**
 * VM runtime {@code libvirt} for QEMU/KVM guests on libvirt-java: define, start, stop, suspend,
 * resume, save and restore, statistics, and peer-to-peer live migration with progress. Cold and
 * warm migration are composed from these by hive-core's migration engine.
 */
package dev.hive.backend.libvirt;
