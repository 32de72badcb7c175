/**
 * Workload runtime {@code podman}: containers through Podman's libpod REST API over its Unix
 * socket, with OkHttp. Found by {@link java.util.ServiceLoader} as {@link
 * dev.hive.backend.podman.PodmanRuntimeProvider}.
 */
package dev.hive.backend.podman;
