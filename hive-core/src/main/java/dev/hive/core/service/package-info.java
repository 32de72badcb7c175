/**
 * Service discovery: the catalog of healthy endpoints every node keeps (its own instances, and
 * what the other members push), the DNS server that answers {@code NAME.<domain>} from it, and the
 * TCP proxy every node runs on each service's port.
 */
package dev.hive.core.service;
