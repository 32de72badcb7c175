package dev.hive.core.monitor;

/**
 * An instance's resource use as its runtime reports it.
 *
 * @param app the app
 * @param instance the instance id
 * @param node the node it runs on
 * @param atMillis when it was read
 * @param cpuSeconds CPU time used since it started
 * @param cpuCores cores in use, averaged since the previous sample (0 on the first)
 * @param memoryBytes memory in use
 * @param networkRxBytes bytes received (0 when the runtime cannot tell)
 * @param networkTxBytes bytes sent
 */
public record InstanceSample(String app, String instance, String node, long atMillis, double cpuSeconds, double cpuCores, long memoryBytes,
    long networkRxBytes, long networkTxBytes) {}
