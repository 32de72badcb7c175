/**
 * Workload runtime `podman`, driven through Podman's libpod REST API over its Unix socket.
 *
 * <p>Nothing is implemented here yet: this module arrives with the issue "Container runtimes and Kubernetes manifests".
 */
package dev.hive.backend.podman;
