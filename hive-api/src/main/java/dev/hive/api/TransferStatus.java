package dev.hive.api;

import java.time.Instant;
import java.util.Optional;

/** A read-only view of one transfer, as of the moment it was read; also the progress event. */
public interface TransferStatus {
  /** Returns the transfer's id, e.g. {@code tx-5f2a9c01d3e4}. */
  String id();

  /** Returns the path sent, on the sending node. */
  String file();

  /** Returns the id of the sending node. */
  String source();

  /** Returns the id of the receiving node. */
  String target();

  /** Returns the name it lands under, relative to the receiver's receive root. */
  String destination();

  /** Returns where it stands. */
  TransferState state();

  /** Returns how many files it moves (1 for a file; a directory's regular files). */
  int files();

  /** Returns the size of everything it moves. */
  long bytesTotal();

  /** Returns the bytes the receiver has verified and recorded, over every attempt. */
  long bytesVerified();

  /** Returns every byte of chunk data sent so far, resends and earlier attempts included. */
  long bytesOnWire();

  /** Returns the recent rate of verified bytes per second (0 when not running). */
  long bytesPerSecond();

  /** Returns how many chunks were sent again because they failed verification. */
  int chunksResent();

  /**
   * Returns the hex SHA-256 over the SHA-256s of its chunks, in order (so a chunk's hash is
   * checked once, and the whole is checked without hashing every byte again); empty until it is
   * known.
   */
  String sha256();

  /** Returns when it started. */
  Instant startedAt();

  /** Returns when it ended, if it did. */
  Optional<Instant> finishedAt();

  /** Returns why it is PAUSED or FAILED; empty otherwise. */
  String error();
}
