package dev.hive.api;

import java.util.Optional;

/** How to send a {@link Transfer}: immutable; built with {@link #builder()}. */
public final class TransferOptions {
  /** The smallest chunk: below it the per-chunk hash and acknowledgement cost more than the data. */
  public static final int MIN_CHUNK_SIZE = 64 * 1024;
  /** The largest chunk: every stream holds one in memory on each side. */
  public static final int MAX_CHUNK_SIZE = 64 * 1024 * 1024;
  /** The most streams one transfer opens. */
  public static final int MAX_STREAMS = 64;

  private static final TransferOptions DEFAULTS = builder().build();

  private final int streams;
  private final int chunkSize;
  private final String destinationName;
  private final OverwritePolicy overwrite;
  private final long bandwidthLimit;
  private final boolean encrypted;

  private TransferOptions(Builder b) {
    this.streams = b.streams;
    this.chunkSize = b.chunkSize;
    this.destinationName = b.destinationName;
    this.overwrite = b.overwrite;
    this.bandwidthLimit = b.bandwidthLimit;
    this.encrypted = b.encrypted;
  }

  /** Four TLS streams, 4 MiB chunks, the file's own name, no overwrite, no bandwidth limit. */
  public static TransferOptions defaults() {
    return DEFAULTS;
  }

  /** Returns a builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns how many streams carry chunks in parallel. */
  public int streams() {
    return streams;
  }

  /** Returns the size of a chunk, the unit of verification and resending. */
  public int chunkSize() {
    return chunkSize;
  }

  /** Returns the name to land under on the receiver, if not the file's own. */
  public Optional<String> destinationName() {
    return Optional.ofNullable(destinationName);
  }

  /** Returns what the receiver does if the destination exists. */
  public OverwritePolicy overwrite() {
    return overwrite;
  }

  /** Returns the most bytes per second to send, 0 for no limit. */
  public long bandwidthLimit() {
    return bandwidthLimit;
  }

  /**
   * Returns true for mutual TLS streams (the default); false for plain TCP on a trusted network,
   * where the sender hands file bytes to the socket without copying them ({@code transferTo}).
   * Chunks are verified either way.
   */
  public boolean encrypted() {
    return encrypted;
  }

  /** Builds {@link TransferOptions}, checking every value as it is set. */
  public static final class Builder {
    private int streams = 4;
    private int chunkSize = 4 * 1024 * 1024;
    private String destinationName;
    private OverwritePolicy overwrite = OverwritePolicy.FAIL;
    private long bandwidthLimit;
    private boolean encrypted = true;

    private Builder() {}

    /**
     * Sets how many streams carry chunks.
     *
     * @throws InvalidSpecException unless 1 to {@value #MAX_STREAMS}
     */
    public Builder streams(int streams) {
      if (streams < 1 || streams > MAX_STREAMS) {
        throw new InvalidSpecException("streams", "streams must be 1 to " + MAX_STREAMS + ", got " + streams);
      }
      this.streams = streams;
      return this;
    }

    /**
     * Sets the chunk size.
     *
     * @throws InvalidSpecException unless {@value #MIN_CHUNK_SIZE} to {@value #MAX_CHUNK_SIZE} bytes
     */
    public Builder chunkSize(int bytes) {
      if (bytes < MIN_CHUNK_SIZE || bytes > MAX_CHUNK_SIZE) {
        throw new InvalidSpecException("chunkSize", "chunk size must be 64 KiB to 64 MiB, got " + bytes + " bytes");
      }
      this.chunkSize = bytes;
      return this;
    }

    /**
     * Sets the name to land under: a relative path under the receive root ({@code a/b.img}).
     *
     * @throws InvalidSpecException for an empty or absolute name, one with {@code ..}, {@code .}
     *     or empty segments, a backslash or a control character, or over 4,096 bytes
     */
    public Builder destinationName(String name) {
      this.destinationName = checkRelativeName(name);
      return this;
    }

    /**
     * Sets what the receiver does if the destination exists.
     *
     * @throws InvalidSpecException if null
     */
    public Builder overwrite(OverwritePolicy policy) {
      if (policy == null) {
        throw new InvalidSpecException("overwrite", "overwrite policy must be FAIL or REPLACE, got null");
      }
      this.overwrite = policy;
      return this;
    }

    /**
     * Limits the rate, in bytes per second; 0 for none.
     *
     * @throws InvalidSpecException if negative, or positive and under 64 KiB/s
     */
    public Builder bandwidthLimit(long bytesPerSecond) {
      if (bytesPerSecond < 0 || (bytesPerSecond > 0 && bytesPerSecond < 64 * 1024)) {
        throw new InvalidSpecException("bandwidthLimit", "bandwidth limit must be 0 (none) or at least 64 KiB/s, got " + bytesPerSecond + " bytes/s");
      }
      this.bandwidthLimit = bytesPerSecond;
      return this;
    }

    /** Chooses TLS streams (true, the default) or plain TCP (false). */
    public Builder encrypted(boolean encrypted) {
      this.encrypted = encrypted;
      return this;
    }

    /** Returns the options. */
    public TransferOptions build() {
      return new TransferOptions(this);
    }
  }

  /**
   * Checks a path that must stay under a root: relative, no {@code ..}, {@code .} or empty
   * segments, no backslash or control character, at most 4,096 bytes and 255 per segment.
   *
   * @return the name
   * @throws InvalidSpecException saying what is wrong
   */
  public static String checkRelativeName(String name) {
    if (name == null || name.isEmpty()) {
      throw new InvalidSpecException("destination", "a destination name must not be empty");
    }
    if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 4096) {
      throw new InvalidSpecException("destination", "a destination name must be at most 4096 bytes");
    }
    if (name.startsWith("/")) {
      throw new InvalidSpecException("destination", "'" + name + "' is absolute; a destination is relative to the receive root, e.g. 'images/disk.img'");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '\\') {
        throw new InvalidSpecException("destination", "'" + name.replaceAll("\\p{Cntrl}", "?") + "' holds a control character or backslash; use plain names separated by '/'");
      }
    }
    for (String segment : name.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new InvalidSpecException("destination", "'" + name + "' has a '" + segment + "' segment; a destination must stay under the receive root, e.g. 'images/disk.img'");
      }
      if (segment.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
        throw new InvalidSpecException("destination", "'" + name + "' has a segment over 255 bytes");
      }
    }
    return name;
  }
}
