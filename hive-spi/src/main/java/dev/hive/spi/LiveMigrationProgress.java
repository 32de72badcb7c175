package dev.hive.spi;

/**
 * One poll of a running live migration.
 *
 * @param round the pre-copy round (1 is the first full pass)
 * @param memoryTotal bytes of guest memory
 * @param memoryProcessed bytes sent, repeated pages included
 * @param memoryRemaining bytes still to send in this round
 * @param dirtyPagesPerSecond how fast the guest dirties pages
 * @param expectedDowntimeMs the pause the hypervisor expects at switch-over, 0 if unknown
 * @param switchingOver whether the guest is paused for the last pages (or runs post-copy)
 */
public record LiveMigrationProgress(int round, long memoryTotal, long memoryProcessed, long memoryRemaining, long dirtyPagesPerSecond,
    long expectedDowntimeMs, boolean switchingOver) {}
