package dev.hive.core.transfer;

import dev.hive.api.TransferState;
import dev.hive.api.TransferStatus;
import java.time.Instant;
import java.util.Optional;

/** A transfer's status at one moment. */
public record TransferRecord(
    String id,
    String file,
    String source,
    String target,
    String destination,
    TransferState state,
    int files,
    long bytesTotal,
    long bytesVerified,
    long bytesOnWire,
    long bytesPerSecond,
    int chunksResent,
    String sha256,
    Instant startedAt,
    Optional<Instant> finishedAt,
    String error)
    implements TransferStatus {}
