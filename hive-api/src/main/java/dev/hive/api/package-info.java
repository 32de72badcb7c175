/**
 * Hive's public API: start a node with {@link dev.hive.api.Hive#builder()}, then deploy, scale and
 * watch apps through the returned {@link dev.hive.api.Cluster}. Every failure is a {@link
 * dev.hive.api.HiveException}.
 */
package dev.hive.api;
