package dev.hive.api;

/** How the scheduler ranks the nodes that can take a replica. */
public enum PlacementStrategy {
  /** The node with the least room left that still fits: fills nodes before opening new ones. */
  BINPACK,
  /** The node holding the fewest replicas of the app, then the one with the most room left. */
  SPREAD;

  /**
   * Parses the CLI and JSON spelling ({@code binpack}, {@code spread}).
   *
   * @throws InvalidSpecException if {@code text} is neither
   */
  public static PlacementStrategy parse(String text) {
    if (text != null) {
      switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "binpack":
          return BINPACK;
        case "spread":
          return SPREAD;
        default:
          break;
      }
    }
    throw new InvalidSpecException("strategy", "'" + text + "' is not a placement strategy; use binpack or spread");
  }

  /** Returns the CLI and JSON spelling. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
