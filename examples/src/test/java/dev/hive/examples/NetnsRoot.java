package dev.hive.examples;

import dev.hive.examples.harness.NetnsHosts;
import java.io.IOException;
import org.junit.jupiter.api.Assumptions;

/** The rule of the tests that make network namespaces: skipped without root, a failure under CI=true. */
final class NetnsRoot {
  private NetnsRoot() {}

  static void require() throws IOException {
    if (NetnsHosts.root()) {
      return;
    }
    if ("true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI=true but not root: network namespaces need root");
    }
    Assumptions.abort("network namespaces need root; run as root (CI does)");
  }
}
