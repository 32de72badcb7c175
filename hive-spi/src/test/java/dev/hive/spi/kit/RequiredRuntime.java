package dev.hive.spi.kit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Decides what a test does when the daemon or tool it drives is missing: on a developer's machine
 * it is skipped with the reason; under {@code CI=true} it fails, because CI's setup
 * ({@code scripts/setup-containers.sh}, {@code scripts/setup-vms.sh}) was supposed to provide it and a skip would hide that.
 */
public final class RequiredRuntime {
  private RequiredRuntime() {}

  /** Returns whether the environment says this is a CI run. */
  public static boolean underCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** Skips (or under CI fails) the calling test unless {@code available}, saying {@code why} not. */
  public static void require(String what, boolean available, String why) {
    if (available) {
      return;
    }
    String message = what + " is not available here: " + why + "; the project's scripts/setup-containers.sh and scripts/setup-vms.sh install and start it";
    if (underCi()) {
      fail("CI=true and " + message);
    }
    assumeTrue(false, message);
  }
}
