/**
 * Hive's plugin interfaces. A plugin author implements a {@code ...Provider}, registers it in
 * {@code META-INF/services}, and extends the matching compatibility kit from this module's
 * test-jar. {@link dev.hive.spi.ProviderSelection} chooses among providers.
 */
package dev.hive.spi;
