/**
 * Workload runtime {@code docker}: containers through the Docker Engine API with docker-java (its
 * httpclient5 transport). Found by {@link java.util.ServiceLoader} as {@link
 * dev.hive.backend.docker.DockerRuntimeProvider}.
 */
package dev.hive.backend.docker;
