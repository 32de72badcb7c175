package dev.hive.spi;

import java.time.Duration;

/**
 * The knobs of one live migration.
 *
 * @param maxDowntime the longest pause at switch-over
 * @param bandwidthMiBps a bandwidth cap in MiB/s, 0 for none
 * @param autoConverge whether to throttle vCPUs when memory does not converge
 * @param postCopy whether to switch to post-copy after the first pre-copy round
 * @param dataAddress the address the target listens on for migration data (e.g. {@code
 *     tcp://10.0.0.2}), or empty to let the hypervisor choose
 */
public record LiveMigrationRequest(Duration maxDowntime, long bandwidthMiBps, boolean autoConverge, boolean postCopy, String dataAddress) {}
