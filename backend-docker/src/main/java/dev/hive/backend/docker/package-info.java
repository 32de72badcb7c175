/**
 * Workload runtime `docker`, driven through the Docker Engine API with docker-java.
 *
 * <p>Nothing is implemented here yet: this module arrives with the issue "Container runtimes and Kubernetes manifests".
 */
package dev.hive.backend.docker;
