package dev.hive.core.transfer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.OverwritePolicy;
import dev.hive.api.TransferOptions;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a transfer moves: the files (relative paths and sizes) that land under one destination
 * name, cut into chunks of one size. A chunk never spans two files, so chunk {@code i} is a range
 * of one file. {@code directory} tells a single file from a directory holding one file.
 *
 * <p>It arrives from another node, so {@link #decode} trusts nothing: names must stay under the
 * root, sizes must add up to the total, and the chunk count must match the sizes.
 */
public record TransferManifest(
    String id, String destination, boolean directory, int chunkSize, List<Entry> files, long bytesTotal, OverwritePolicy overwrite,
    java.util.Map<String, Integer> directoryModes) {

  /**
   * One file: its path under the destination (empty for a single file), its size and its
   * permission bits (0 to 0777), which it lands with.
   */
  public record Entry(String path, long size, int mode) {
    /** A file of mode 0644, what a sender that sent no modes meant. */
    public Entry(String path, long size) {
      this(path, size, DEFAULT_FILE_MODE);
    }
  }

  /** The mode of a file whose sender sent none (an older Hive). */
  public static final int DEFAULT_FILE_MODE = 0644;
  /** The mode of a directory whose sender sent none. */
  public static final int DEFAULT_DIRECTORY_MODE = 0755;

  /** A manifest whose directories land with their default mode. */
  public TransferManifest(String id, String destination, boolean directory, int chunkSize, List<Entry> files, long bytesTotal,
      OverwritePolicy overwrite) {
    this(id, destination, directory, chunkSize, files, bytesTotal, overwrite, java.util.Map.of());
  }

  /** The most files one transfer may hold. */
  static final int MAX_FILES = 1_000_000;
  /** The most chunks one transfer may hold (a 64 TiB file at 4 MiB). */
  static final int MAX_CHUNKS = 16 * 1024 * 1024;
  private static final Pattern ID = Pattern.compile("tx-[0-9a-f]{12}");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Creates a manifest, checking it as {@link #decode} does. */
  public TransferManifest {
    files = List.copyOf(files);
    directoryModes = java.util.Map.copyOf(directoryModes);
    check(id, destination, directory, chunkSize, files, bytesTotal, overwrite);
    for (Entry e : files) {
      checkMode(e.path(), e.mode());
    }
    directoryModes.forEach((path, mode) -> {
      if (!path.isEmpty()) {
        TransferOptions.checkRelativeName(path);
      }
      checkMode(path, mode);
    });
  }

  /** Only permission bits travel: set-uid, set-gid and sticky bits never do. */
  private static void checkMode(String path, int mode) {
    if (mode < 0 || mode > 0777) {
      throw new InvalidSpecException("manifest", "'" + path + "' has mode " + Integer.toOctalString(mode) + "; a mode is 0 to 0777");
    }
  }

  private static void check(String id, String destination, boolean directory, int chunkSize, List<Entry> files, long bytesTotal, OverwritePolicy overwrite) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new InvalidSpecException("manifest", "transfer id '" + id + "' is not tx- and 12 hex digits");
    }
    TransferOptions.checkRelativeName(destination);
    if (chunkSize < TransferOptions.MIN_CHUNK_SIZE || chunkSize > TransferOptions.MAX_CHUNK_SIZE) {
      throw new InvalidSpecException("manifest", "chunk size " + chunkSize + " is outside 64 KiB to 64 MiB");
    }
    if (overwrite == null) {
      throw new InvalidSpecException("manifest", "the manifest names no overwrite policy");
    }
    if (files.size() > MAX_FILES) {
      throw new InvalidSpecException("manifest", "the manifest lists " + files.size() + " files, more than " + MAX_FILES);
    }
    if (!directory && (files.size() != 1 || !files.get(0).path().isEmpty())) {
      throw new InvalidSpecException("manifest", "a single-file manifest must list exactly one file with an empty path");
    }
    long sum = 0;
    long chunks = 0;
    Set<String> names = new HashSet<>();
    for (Entry e : files) {
      if (e.size() < 0) {
        throw new InvalidSpecException("manifest", "file '" + e.path() + "' has a negative size " + e.size());
      }
      if (directory) {
        TransferOptions.checkRelativeName(e.path());
        if (!names.add(e.path())) {
          throw new InvalidSpecException("manifest", "file '" + e.path() + "' is listed twice");
        }
      }
      try {
        sum = Math.addExact(sum, e.size());
      } catch (ArithmeticException overflow) {
        throw new InvalidSpecException("manifest", "the files' sizes add up to more than " + Long.MAX_VALUE + " bytes");
      }
      chunks += chunksOf(e.size(), chunkSize);
    }
    if (directory) {
      // "a" and "a/b" cannot both be files.
      for (String name : names) {
        for (int slash = name.indexOf('/'); slash > 0; slash = name.indexOf('/', slash + 1)) {
          if (names.contains(name.substring(0, slash))) {
            throw new InvalidSpecException("manifest", "'" + name.substring(0, slash) + "' is listed as a file and as a directory of '" + name + "'");
          }
        }
      }
    }
    if (sum != bytesTotal) {
      throw new InvalidSpecException("manifest", "the manifest says " + bytesTotal + " bytes in total but its files add up to " + sum);
    }
    if (chunks > MAX_CHUNKS) {
      throw new InvalidSpecException("manifest", chunks + " chunks is over " + MAX_CHUNKS + "; choose a larger chunk size");
    }
  }

  private static long chunksOf(long size, int chunkSize) {
    return (size + chunkSize - 1) / chunkSize;
  }

  /** Returns the chunk layout: which file, offset and length each chunk covers. */
  public Layout layout() {
    return new Layout(this);
  }

  /** Returns the manifest as JSON. */
  public byte[] encode() {
    ObjectNode o = JSON.createObjectNode();
    o.put("id", id).put("destination", destination).put("directory", directory).put("chunkSize", chunkSize)
        .put("bytesTotal", bytesTotal).put("overwrite", overwrite.name());
    ArrayNode array = o.putArray("files");
    for (Entry e : files) {
      array.addObject().put("path", e.path()).put("size", e.size()).put("mode", e.mode());
    }
    ArrayNode dirs = o.putArray("directories");
    new java.util.TreeMap<>(directoryModes).forEach((path, mode) -> dirs.addObject().put("path", path).put("mode", mode));
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Reads a manifest sent by another node.
   *
   * @throws InvalidSpecException saying what is wrong with it
   */
  public static TransferManifest decode(byte[] bytes) {
    JsonNode o;
    try {
      o = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new InvalidSpecException("manifest", "the transfer manifest is not JSON: " + e.getMessage());
    }
    if (o == null || !o.isObject() || !o.path("files").isArray()) {
      throw new InvalidSpecException("manifest", "the transfer manifest must be an object with a files array");
    }
    OverwritePolicy overwrite;
    try {
      overwrite = OverwritePolicy.valueOf(o.path("overwrite").asText());
    } catch (IllegalArgumentException e) {
      throw new InvalidSpecException("manifest", "overwrite must be FAIL or REPLACE, got '" + o.path("overwrite").asText() + "'");
    }
    List<Entry> files = new java.util.ArrayList<>();
    for (JsonNode f : o.path("files")) {
      if (!f.path("size").canConvertToLong() || !f.path("path").isTextual()) {
        throw new InvalidSpecException("manifest", "every file in the manifest needs a path and a whole-number size");
      }
      if (f.has("mode") && !f.path("mode").canConvertToInt()) {
        throw new InvalidSpecException("manifest", "a file's mode must be a whole number, 0 to 0777");
      }
      files.add(new Entry(f.path("path").asText(), f.path("size").asLong(), f.has("mode") ? f.path("mode").asInt() : DEFAULT_FILE_MODE));
      if (files.size() > MAX_FILES) {
        throw new InvalidSpecException("manifest", "the manifest lists more than " + MAX_FILES + " files");
      }
    }
    if (!o.path("chunkSize").canConvertToInt() || !o.path("bytesTotal").canConvertToLong()) {
      throw new InvalidSpecException("manifest", "the manifest needs a whole-number chunkSize and bytesTotal");
    }
    java.util.Map<String, Integer> directoryModes = new java.util.HashMap<>();
    for (JsonNode d : o.path("directories")) {
      if (!d.path("path").isTextual() || !d.path("mode").canConvertToInt()) {
        throw new InvalidSpecException("manifest", "every directory in the manifest needs a path and a whole-number mode");
      }
      if (directoryModes.put(d.path("path").asText(), d.path("mode").asInt()) != null || directoryModes.size() > MAX_FILES) {
        throw new InvalidSpecException("manifest", "directory '" + d.path("path").asText() + "' is listed twice, or too many are");
      }
    }
    return new TransferManifest(o.path("id").asText(), o.path("destination").asText(), o.path("directory").asBoolean(),
        o.path("chunkSize").asInt(), files, o.path("bytesTotal").asLong(), overwrite, directoryModes);
  }

  /** Where each chunk lies: parallel arrays, so that looking a chunk up allocates nothing. */
  public static final class Layout {
    private final int[] file;
    private final long[] offset;
    private final int[] length;

    Layout(TransferManifest m) {
      int count = 0;
      for (Entry e : m.files()) {
        count += (int) chunksOf(e.size(), m.chunkSize());
      }
      file = new int[count];
      offset = new long[count];
      length = new int[count];
      int i = 0;
      for (int f = 0; f < m.files().size(); f++) {
        long size = m.files().get(f).size();
        for (long at = 0; at < size; at += m.chunkSize()) {
          file[i] = f;
          offset[i] = at;
          length[i] = (int) Math.min(m.chunkSize(), size - at);
          i++;
        }
      }
    }

    /** Returns the number of chunks. */
    public int count() {
      return file.length;
    }

    /** Returns the index of the file chunk {@code i} belongs to. */
    public int file(int i) {
      return file[i];
    }

    /** Returns the offset of chunk {@code i} in its file. */
    public long offset(int i) {
      return offset[i];
    }

    /** Returns the length of chunk {@code i}. */
    public int length(int i) {
      return length[i];
    }
  }
}
