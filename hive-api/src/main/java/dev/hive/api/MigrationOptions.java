package dev.hive.api;

import java.time.Duration;

/** How to run a {@link Migration}: immutable; built with {@link #builder()}. */
public final class MigrationOptions {
  private static final MigrationOptions DEFAULTS = builder().build();

  private final Duration maxDowntime;
  private final long bandwidthMiBps;
  private final boolean autoConverge;
  private final boolean postCopy;
  private final Duration timeout;

  private MigrationOptions(Builder b) {
    this.maxDowntime = b.maxDowntime;
    this.bandwidthMiBps = b.bandwidthMiBps;
    this.autoConverge = b.autoConverge;
    this.postCopy = b.postCopy;
    this.timeout = b.timeout;
  }

  /** 300 ms maximum downtime, no bandwidth cap, no auto-converge, no post-copy, a 10 minute timeout. */
  public static MigrationOptions defaults() {
    return DEFAULTS;
  }

  /** Returns a builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the longest pause LIVE may impose at switch-over. */
  public Duration maxDowntime() {
    return maxDowntime;
  }

  /** Returns the cap on migration bandwidth in MiB/s, 0 for none. */
  public long bandwidthMiBps() {
    return bandwidthMiBps;
  }

  /** Returns whether LIVE throttles the guest's vCPUs when memory does not converge. */
  public boolean autoConverge() {
    return autoConverge;
  }

  /** Returns whether LIVE switches to post-copy after the first pre-copy round. */
  public boolean postCopy() {
    return postCopy;
  }

  /** Returns how long it may take before it is rolled back. */
  public Duration timeout() {
    return timeout;
  }

  /** Builds {@link MigrationOptions}; every setter checks its value. */
  public static final class Builder {
    private Duration maxDowntime = Duration.ofMillis(300);
    private long bandwidthMiBps;
    private boolean autoConverge;
    private boolean postCopy;
    private Duration timeout = Duration.ofMinutes(10);

    private Builder() {}

    /**
     * Sets the longest pause LIVE may impose at switch-over.
     *
     * @throws InvalidSpecException unless between 1 ms and 60 s
     */
    public Builder maxDowntime(Duration value) {
      if (value == null || value.toMillis() < 1 || value.toSeconds() > 60) {
        throw new InvalidSpecException("maxDowntime", "expected between 1ms and 60s, got " + value);
      }
      this.maxDowntime = value;
      return this;
    }

    /**
     * Caps migration bandwidth.
     *
     * @param miBps MiB per second, 0 for no cap
     * @throws InvalidSpecException if negative
     */
    public Builder bandwidthMiBps(long miBps) {
      if (miBps < 0) {
        throw new InvalidSpecException("bandwidth", "expected MiB/s >= 0 (0: no cap), got " + miBps);
      }
      this.bandwidthMiBps = miBps;
      return this;
    }

    /** Lets LIVE throttle the guest's vCPUs when memory does not converge. */
    public Builder autoConverge(boolean value) {
      this.autoConverge = value;
      return this;
    }

    /** Lets LIVE switch to post-copy after the first pre-copy round. */
    public Builder postCopy(boolean value) {
      this.postCopy = value;
      return this;
    }

    /**
     * Sets how long it may take before it is rolled back.
     *
     * @throws InvalidSpecException unless between 1 s and 24 h
     */
    public Builder timeout(Duration value) {
      if (value == null || value.toSeconds() < 1 || value.toHours() > 24) {
        throw new InvalidSpecException("timeout", "expected between 1s and 24h, got " + value);
      }
      this.timeout = value;
      return this;
    }

    /** Returns the options. */
    public MigrationOptions build() {
      return new MigrationOptions(this);
    }
  }
}
