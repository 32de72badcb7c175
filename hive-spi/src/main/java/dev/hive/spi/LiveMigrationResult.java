package dev.hive.spi;

/**
 * What the hypervisor measured for a finished live migration.
 *
 * @param totalMs its time from start to end
 * @param downtimeMs how long the guest was paused
 * @param bytes bytes sent
 * @param rounds pre-copy rounds
 */
public record LiveMigrationResult(long totalMs, long downtimeMs, long bytes, int rounds) {}
