/**
 * JMH benchmarks and scale simulations of Hive's hot paths (scheduler, transfer).
 *
 * <p>Nothing is implemented here yet: this module arrives with the issue "Scheduling and self-healing across nodes".
 */
package dev.hive.benchmarks;
