package dev.hive.api;

/** When an instance whose workload exited is started again (with exponential backoff). */
public enum RestartPolicy {
  /** Always, whatever the exit code. */
  ALWAYS,
  /** Only when the workload failed: a non-zero exit, a failed start or an unhealthy verdict. */
  ON_FAILURE,
  /** Never: the instance stays STOPPED or FAILED. */
  NEVER;

  /**
   * Parses the CLI and JSON spelling ({@code always}, {@code on-failure}, {@code never}).
   *
   * @throws InvalidSpecException if {@code text} is none of them
   */
  public static RestartPolicy parse(String text) {
    if (text != null) {
      switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "always":
          return ALWAYS;
        case "on-failure":
        case "on_failure":
          return ON_FAILURE;
        case "never":
          return NEVER;
        default:
          break;
      }
    }
    throw new InvalidSpecException("restart", "'" + text + "' is not a restart policy; use always, on-failure or never");
  }

  /** Returns the CLI and JSON spelling. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
