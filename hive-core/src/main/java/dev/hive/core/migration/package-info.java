/**
 * VM migration: {@link dev.hive.core.migration.VmMigration} runs one COLD, WARM or LIVE move on
 * the source node over the VM-runtime SPI, reports its progress, and rolls back by itself.
 */
package dev.hive.core.migration;
