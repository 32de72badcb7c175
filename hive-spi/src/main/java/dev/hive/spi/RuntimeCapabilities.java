package dev.hive.spi;

/**
 * What a runtime can do on this host, so that Hive refuses what it cannot and says why.
 *
 * @param runsCommands it runs shell commands
 * @param runsImages it runs container images
 * @param resourceLimits it enforces CPU and memory limits here
 * @param resourceLimitsNote how it enforces them, or why it cannot
 */
public record RuntimeCapabilities(boolean runsCommands, boolean runsImages, boolean resourceLimits, String resourceLimitsNote) {}
