package dev.hive.core.transfer;

import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.OverwritePolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;

/**
 * One incoming transfer on the receiver: the partial directory {@code <root>/.hive-partial/<id>}
 * with the manifest, the payload written in place (a file, or a directory of files), and the
 * record of verified chunks ({@code index:u32 sha256:32} each, appended after the data they vouch
 * for is forced to disk, so the record never claims more than the disk holds).
 */
final class ReceiveSession {
  private static final int RECORD_BYTES = 4 + 32;

  final TransferManifest manifest;
  final TransferManifest.Layout layout;
  final String fromNode;
  final String token;
  private final ReceiveRoot root;
  private final Path dir;
  private final Path payload;
  private final FileChannel records;
  private final FileChannel[] files;
  private final BitSet verified;
  private final byte[] hashes;
  private long verifiedBytes;
  private int[] unrecorded = new int[64];
  private int unrecordedCount;
  private int openStreams;
  private volatile boolean committed;

  private ReceiveSession(ReceiveRoot root, TransferManifest manifest, String fromNode, String token, Path dir) throws IOException {
    this.root = root;
    this.manifest = manifest;
    this.layout = manifest.layout();
    this.fromNode = fromNode;
    this.token = token;
    this.dir = dir;
    this.payload = dir.resolve("payload");
    this.files = new FileChannel[manifest.files().size()];
    this.verified = new BitSet(layout.count());
    this.hashes = new byte[layout.count() * 32];
    Path recordFile = dir.resolve("chunks");
    boolean existed = Files.exists(recordFile);
    this.records = FileChannel.open(recordFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    if (existed) {
      load();
    }
  }

  /**
   * Opens the session of a transfer: the partial directory kept from an earlier attempt, or a
   * new one.
   *
   * @throws InvalidSpecException if an earlier attempt with this id had another manifest
   */
  static ReceiveSession open(ReceiveRoot root, TransferManifest manifest, String fromNode, String token) {
    Path dir = root.partial().resolve(manifest.id());
    Path manifestFile = dir.resolve("manifest.json");
    try {
      if (Files.exists(manifestFile)) {
        TransferManifest earlier = TransferManifest.decode(Files.readAllBytes(manifestFile));
        if (!earlier.equals(manifest)) {
          throw new InvalidSpecException("transfer", "transfer " + manifest.id() + " was started with another manifest (other files, sizes or chunk size); send the file again as a new transfer");
        }
      } else {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("manifest.json.tmp");
        Files.write(tmp, manifest.encode());
        Files.move(tmp, manifestFile, StandardCopyOption.ATOMIC_MOVE);
      }
      return new ReceiveSession(root, manifest, fromNode, token, dir);
    } catch (IOException e) {
      throw new HiveException("cannot keep transfer " + manifest.id() + " under " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Reads the record left by an earlier attempt; a torn last record is ignored (its chunk is sent again). */
  private void load() throws IOException {
    long size = records.size();
    long whole = size - size % RECORD_BYTES;
    ByteBuffer b = ByteBuffer.allocate((int) Math.min(whole, Integer.MAX_VALUE));
    records.read(b, 0);
    b.flip();
    while (b.remaining() >= RECORD_BYTES) {
      int index = b.getInt();
      if (index < 0 || index >= layout.count()) {
        throw new IOException("the chunk record names chunk " + index + " of " + layout.count());
      }
      b.get(hashes, index * 32, 32);
      if (!verified.get(index)) {
        verified.set(index);
        verifiedBytes += layout.length(index);
      }
    }
    records.truncate(whole);
    records.position(whole);
  }

  synchronized BitSet verified() {
    return (BitSet) verified.clone();
  }

  synchronized long verifiedBytes() {
    return verifiedBytes;
  }

  synchronized void streamOpened() {
    openStreams++;
  }

  /** A stream ended: the last one forces what it wrote and closes the files. */
  synchronized void streamClosed() throws IOException {
    if (--openStreams == 0) {
      flush();
      closeFiles();
    }
  }

  /**
   * Checks one chunk against its hash and, if it matches, writes it in place.
   *
   * @param data the chunk, from position to limit; consumed
   * @param actual 32 bytes the stream reuses for the computed hash (no garbage per chunk)
   * @return false if it does not match its hash
   * @throws DataProtocol.ProtocolException if the chunk does not fit the manifest
   */
  boolean accept(int index, byte[] expected, ByteBuffer data, MessageDigest sha, byte[] actual) throws IOException {
    if (index < 0 || index >= layout.count()) {
      throw new DataProtocol.ProtocolException("chunk " + index + " is outside the manifest's " + layout.count() + " chunks");
    }
    if (data.remaining() != layout.length(index)) {
      throw new DataProtocol.ProtocolException("chunk " + index + " carries " + data.remaining() + " bytes but the manifest makes it " + layout.length(index));
    }
    sha.reset();
    int start = data.position();
    sha.update(data);
    try {
      sha.digest(actual, 0, 32);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException(e);
    }
    if (!MessageDigest.isEqual(actual, expected)) {
      return false;
    }
    synchronized (this) {
      if (verified.get(index)) {
        return true;
      }
    }
    data.position(start);
    FileChannel file = file(layout.file(index));
    long at = layout.offset(index);
    while (data.hasRemaining()) {
      at += file.write(data, at);
    }
    synchronized (this) {
      if (!verified.get(index)) {
        verified.set(index);
        verifiedBytes += layout.length(index);
        System.arraycopy(actual, 0, hashes, index * 32, 32);
        if (unrecordedCount == unrecorded.length) {
          unrecorded = Arrays.copyOf(unrecorded, unrecordedCount * 2);
        }
        unrecorded[unrecordedCount++] = index;
      }
    }
    return true;
  }

  private synchronized FileChannel file(int f) throws IOException {
    if (files[f] == null) {
      Path p = pathOf(f);
      Files.createDirectories(p.getParent());
      // Owner-only until the commit gives it its sender's mode: never wider than its source meanwhile.
      files[f] = FileChannel.open(p, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE), ownerOnly(p));
    }
    return files[f];
  }

  /** Gives every file and directory of the payload the mode its sender had: files first, then directories, deepest first. */
  private void applyModes() throws IOException {
    if (!payload.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return;
    }
    for (int f = 0; f < files.length; f++) {
      Files.setPosixFilePermissions(pathOf(f), permissions(manifest.files().get(f).mode()));
    }
    if (manifest.directory()) {
      java.util.List<String> dirs = new java.util.ArrayList<>(manifest.directoryModes().keySet());
      dirs.sort(java.util.Comparator.comparingInt(String::length).reversed());
      for (String d : dirs) {
        Path p = d.isEmpty() ? payload : payload.resolve(d);
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.setPosixFilePermissions(p, permissions(manifest.directoryModes().get(d)));
        }
      }
    }
  }

  /** The permission set of a mode such as 0640. */
  static java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions(int mode) {
    java.util.Set<java.nio.file.attribute.PosixFilePermission> set = java.util.EnumSet.noneOf(java.nio.file.attribute.PosixFilePermission.class);
    for (java.nio.file.attribute.PosixFilePermission bit : java.nio.file.attribute.PosixFilePermission.values()) {
      if ((mode & (1 << (8 - bit.ordinal()))) != 0) {
        set.add(bit);
      }
    }
    return set;
  }

  private static java.nio.file.attribute.FileAttribute<?>[] ownerOnly(Path p) {
    return p.getFileSystem().supportedFileAttributeViews().contains("posix")
        ? new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions.asFileAttribute(permissions(0600))}
        : new java.nio.file.attribute.FileAttribute<?>[0];
  }

  private Path pathOf(int f) {
    return manifest.directory() ? payload.resolve(manifest.files().get(f).path()) : payload;
  }

  /** Forces the data written so far, then records the chunks it holds. */
  synchronized void flush() throws IOException {
    if (unrecordedCount == 0) {
      return;
    }
    for (FileChannel f : files) {
      if (f != null) {
        f.force(false);
      }
    }
    ByteBuffer b = ByteBuffer.allocate(unrecordedCount * RECORD_BYTES);
    for (int i = 0; i < unrecordedCount; i++) {
      int index = unrecorded[i];
      b.putInt(index).put(hashes, index * 32, 32);
    }
    b.flip();
    DataProtocol.writeFully(records, b);
    records.force(false);
    unrecordedCount = 0;
  }

  /**
   * Finishes the transfer: every chunk verified, the root hash equal to the sender's, then the
   * payload is renamed into place. Until then nothing exists at the destination.
   *
   * @return the destination
   * @throws InvalidSpecException if chunks are missing, the root hash differs, or the
   *     destination exists and the policy is FAIL
   */
  synchronized Path commit(String senderRoot) throws IOException {
    if (verified.cardinality() != layout.count()) {
      throw new InvalidSpecException("transfer", (layout.count() - verified.cardinality()) + " of " + layout.count() + " chunks have not arrived verified; resume the transfer");
    }
    String rootHash = rootHash(hashes);
    if (!rootHash.equals(senderRoot)) {
      throw new InvalidSpecException("transfer", "the sender's hash over its chunks (" + senderRoot + ") differs from the receiver's (" + rootHash + "); the file changed while it was sent -- send it again");
    }
    flush();
    closeFiles();
    for (int f = 0; f < files.length; f++) {
      if (manifest.files().get(f).size() == 0) {
        Path p = pathOf(f);
        Files.createDirectories(p.getParent());
        Files.deleteIfExists(p);
        Files.createFile(p);
      }
    }
    if (manifest.directory()) {
      Files.createDirectories(payload);
    }
    applyModes();
    Path target = root.resolve(manifest.destination());
    root.createParents(target);
    if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      if (manifest.overwrite() == OverwritePolicy.FAIL) {
        throw new FileAlreadyExistsException(target.toString());
      }
      if (Files.isDirectory(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        // A directory cannot be renamed over a full one: move the old one into the partial area first.
        Files.move(target, dir.resolve("replaced"), StandardCopyOption.ATOMIC_MOVE);
      }
    }
    Files.move(payload, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    forceDirectory(target.getParent());
    committed = true;
    records.close();
    deleteTree(dir);
    return target;
  }

  boolean committed() {
    return committed;
  }

  String rootHash() {
    return rootHash(hashes);
  }

  /** The transfer's whole hash: SHA-256 over its chunks' SHA-256s, in order. */
  static String rootHash(byte[] chunkHashes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(chunkHashes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void closeFiles() throws IOException {
    for (int f = 0; f < files.length; f++) {
      if (files[f] != null) {
        files[f].close();
        files[f] = null;
      }
    }
  }

  /** Closes without committing; the partial directory stays for a resume. */
  synchronized void close() {
    try {
      flush();
      closeFiles();
      records.close();
    } catch (IOException e) {
      // What was not recorded is sent again.
    }
  }

  /** Closes, and removes the partial directory if nothing was verified yet (a refused transfer leaves nothing). */
  synchronized void discardIfEmpty() {
    close();
    if (verifiedBytes == 0) {
      try {
        deleteTree(dir);
      } catch (IOException e) {
        // Left for the next attempt.
      }
    }
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
      c.force(true);
    } catch (IOException e) {
      // Not every file system lets a directory be forced; the rename is still atomic.
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
