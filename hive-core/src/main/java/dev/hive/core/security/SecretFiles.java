package dev.hive.core.security;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Files only the daemon's user may read: created 0600 (directories 0700) by the call that creates
 * them, never written first and narrowed after, since another user can open a file in between and
 * keep reading it.
 */
public final class SecretFiles {
  private static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_DIR = PosixFilePermissions.fromString("rwx------");

  private SecretFiles() {}

  /**
   * Creates {@code dir} and its missing parents 0700; narrows an existing {@code dir} to 0700.
   *
   * @throws IOException if it cannot be created or narrowed
   */
  public static Path privateDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      if (posix(dir) && !Files.getPosixFilePermissions(dir).equals(OWNER_DIR)) {
        Files.setPosixFilePermissions(dir, OWNER_DIR);
      }
      return dir;
    }
    Path parent = dir.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      privateDirectory(parent);
    }
    try {
      Files.createDirectory(dir, dirAttribute(parent));
    } catch (FileAlreadyExistsException e) {
      // Created by another thread in between.
    }
    return dir;
  }

  /**
   * Writes {@code bytes} to {@code file} atomically, as a file that is 0600 from its creation; its
   * directory is created 0700 if missing.
   *
   * @throws IOException if it cannot be written
   */
  public static void write(Path file, byte[] bytes) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    privateDirectory(dir);
    Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.write(Files.createFile(tmp, fileAttribute(dir)), bytes, StandardOpenOption.WRITE);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Creates {@code file} empty and 0600 if it does not exist, so that what opens it next (SQLite)
   * keeps those permissions; an existing file is narrowed to 0600.
   *
   * @throws IOException if it cannot be created
   */
  public static void createPrivateFile(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    privateDirectory(dir);
    try {
      Files.createFile(file, fileAttribute(dir));
    } catch (FileAlreadyExistsException e) {
      if (posix(file) && !Files.getPosixFilePermissions(file).equals(OWNER_FILE)) {
        Files.setPosixFilePermissions(file, OWNER_FILE);
      }
    }
  }

  private static boolean posix(Path p) {
    return p.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  private static FileAttribute<?>[] fileAttribute(Path dir) {
    return dir == null || posix(dir) ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_FILE)} : new FileAttribute<?>[0];
  }

  private static FileAttribute<?>[] dirAttribute(Path parent) {
    return parent == null || posix(parent) ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_DIR)} : new FileAttribute<?>[0];
  }
}
