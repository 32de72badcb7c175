package dev.hive.examples.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the harnesses and tests that put daemons on hosts in network namespaces share: whether they
 * may (root), the project's {@code scripts/netns-hosts.sh}, and commands run to completion.
 */
public final class NetnsHosts {
  private NetnsHosts() {}

  /** Returns true when this process runs as root (network namespaces need it). */
  public static boolean root() throws IOException {
    return new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip().equals("0");
  }

  /** Makes {@code count} hosts {@code prefix1..N} on {@code subnet}.1..N, bridged. */
  public static void up(String prefix, String subnet, int count) throws IOException, InterruptedException {
    run("scripts/netns-hosts.sh", "up", prefix, subnet, Integer.toString(count));
  }

  /** Removes what {@link #up} made. */
  public static void down(String prefix, int count) throws IOException, InterruptedException {
    run("scripts/netns-hosts.sh", "down", prefix, Integer.toString(count));
  }

  /** Runs a command (one of the project's {@code scripts/...} or on the PATH) to its end; its output. */
  public static String run(String... command) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of(command));
    if (command[0].startsWith("scripts/")) {
      argv.set(0, repo().resolve(command[0]).toString());
    }
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
    return out;
  }

  /** The repository's root, whether run from it or from a module. */
  public static Path repo() {
    Path p = Path.of("").toAbsolutePath();
    return Files.exists(p.resolve("scripts/netns-hosts.sh")) ? p : p.getParent();
  }

  /** The java launcher of this JVM, for daemons started inside a namespace. */
  public static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
