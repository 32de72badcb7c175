/**
 * VM runtime `libvirt` for QEMU/KVM guests, with cold, warm and live migration.
 *
 * <p>Nothing is implemented here yet: this module arrives with the issue "VMs and migration".
 */
package dev.hive.backend.libvirt;
