/**
 * File transfer between nodes: a manifest of fixed-size chunks, each carried on one of several
 * streams with its SHA-256, verified and written in place by the receiver, recorded durably so
 * that a resumed transfer sends only what is missing, and renamed into place under the receive
 * root once every chunk is verified.
 */
package dev.hive.core.transfer;
