package dev.hive.core.transfer;

import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.TransferOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The directory a node receives into, and the rules that keep every write under it: names are
 * relative without {@code ..}; no existing component on the way is a symbolic link; the partial
 * area ({@value #PARTIAL}) is not a destination; and there is room for what is still to come.
 */
public final class ReceiveRoot {
  /** Where transfers in progress keep their data and records, inside the root (same file system, so the final rename is atomic). */
  static final String PARTIAL = ".hive-partial";

  private final Path root;

  /**
   * Opens (creating) a receive root.
   *
   * @throws HiveException if it cannot be created
   */
  public ReceiveRoot(Path root) {
    try {
      // 0700: what arrives may be another node's keys; its own modes apply below the root.
      dev.hive.core.security.SecretFiles.privateDirectory(root);
      this.root = root.toRealPath();
      Files.createDirectories(this.root.resolve(PARTIAL));
    } catch (IOException e) {
      throw new HiveException("cannot create the receive root " + root + ": " + e.getMessage()
          + "; set hive.transfer.receive-root to a writable directory", e);
    }
  }

  /** Returns the root, as a real path. */
  public Path path() {
    return root;
  }

  Path partial() {
    return root.resolve(PARTIAL);
  }

  /**
   * Returns where {@code name} lands, after checking it stays under the root.
   *
   * @throws InvalidSpecException for a name that is not relative and plain, that names the
   *     partial area, or whose way goes through a symbolic link
   */
  public Path resolve(String name) {
    TransferOptions.checkRelativeName(name);
    if (name.equals(PARTIAL) || name.startsWith(PARTIAL + "/")) {
      throw new InvalidSpecException("destination", "'" + PARTIAL + "' is where transfers in progress are kept; choose another name");
    }
    Path target = root.resolve(name).normalize();
    if (!target.startsWith(root) || target.equals(root)) {
      throw new InvalidSpecException("destination", "'" + name + "' leaves the receive root");
    }
    for (Path p = target; !p.equals(root); p = p.getParent()) {
      if (Files.isSymbolicLink(p)) {
        throw new InvalidSpecException("destination", "'" + root.relativize(p) + "' under the receive root is a symbolic link; a transfer never writes through one");
      }
    }
    return target;
  }

  /**
   * Creates the directories above {@code target}, refusing to follow a link made meanwhile.
   *
   * @throws IOException if one cannot be created or turns out to be a link
   */
  void createParents(Path target) throws IOException {
    Path parent = target.getParent();
    Path at = root;
    for (Path component : root.relativize(parent)) {
      if (component.toString().isEmpty()) {
        continue;
      }
      at = at.resolve(component);
      if (Files.isSymbolicLink(at)) {
        throw new IOException(root.relativize(at) + " became a symbolic link");
      }
      if (!Files.isDirectory(at, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(at);
      }
    }
  }

  /**
   * Checks there is room for {@code bytes} more.
   *
   * @throws InvalidSpecException if the file system has less free space
   */
  void checkSpace(long bytes) {
    long free;
    try {
      free = Files.getFileStore(root).getUsableSpace();
    } catch (IOException e) {
      throw new HiveException("cannot read the free space under " + root + ": " + e.getMessage(), e);
    }
    if (bytes > free) {
      throw new InvalidSpecException("destination", "the transfer needs " + dev.hive.core.state.Sizes.human(bytes) + " but " + root + " has " + dev.hive.core.state.Sizes.human(free)
          + " free; free space there or set hive.transfer.receive-root to a larger file system");
    }
  }
}
