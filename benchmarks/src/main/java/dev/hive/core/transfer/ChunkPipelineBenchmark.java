package dev.hive.core.transfer;

import dev.hive.api.OverwritePolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The receiver's chunk pipeline -- hash a 4 MiB chunk from a pooled direct buffer, compare, write
 * it in place ({@link ReceiveSession#accept}, the engine's own code) -- against the JDK's SHA-256
 * over the same bytes alone, which bounds it. Chunks per second; multiply by 4 MiB for bytes. The
 * file is on tmpfs, so the disk is not what is measured. (In the engine's package, to reach the
 * package-private session.)
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar ChunkPipelineBenchmark</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
@State(Scope.Thread)
public class ChunkPipelineBenchmark {
  private static final int CHUNK = 4 * 1024 * 1024;
  private static final int CHUNKS = 64;

  private Path dir;
  private ReceiveSession session;
  private ByteBuffer chunk;
  private byte[] hash;
  private final byte[] actual = new byte[32];
  private MessageDigest sha;
  private byte[] heapChunk;
  private int next;
  private long passes;
  private ReceiveRoot root;

  @Setup(Level.Iteration)
  public void setUp() throws Exception {
    dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir")), "hive-chunks");
    root = new ReceiveRoot(dir);
    session = newSession();
    heapChunk = new byte[CHUNK];
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < CHUNK; i += 8) {
      long v = random.nextLong();
      for (int b = 0; b < 8; b++) {
        heapChunk[i + b] = (byte) (v >>> (8 * b));
      }
    }
    chunk = ByteBuffer.allocateDirect(CHUNK).put(heapChunk).flip();
    sha = MessageDigest.getInstance("SHA-256");
    hash = sha.digest(heapChunk);
  }

  /** A fresh transfer each pass over the file, so that every chunk is written again. */
  private ReceiveSession newSession() {
    TransferManifest manifest = new TransferManifest(String.format("tx-%012x", passes++), "bench.img", false, CHUNK,
        List.of(new TransferManifest.Entry("", (long) CHUNK * CHUNKS)), (long) CHUNK * CHUNKS, OverwritePolicy.REPLACE);
    return ReceiveSession.open(root, manifest, "node-a", "00");
  }

  @TearDown(Level.Iteration)
  public void tearDown() throws IOException {
    session.close();
    ReceiveSession.deleteTree(dir);
  }

  /** The engine: verify and write one chunk (each chunk index once per pass over the file). */
  @Benchmark
  public boolean verifyAndWrite() throws IOException {
    int index = next++ % CHUNKS;
    if (index == 0 && next > 1) {
      session.discardIfEmpty();
      ReceiveSession.deleteTree(root.partial().resolve(session.manifest.id()));
      session = newSession();
    }
    chunk.rewind();
    return session.accept(index, hash, chunk, sha, actual);
  }

  /** The bound: the JDK's SHA-256 over the same 4 MiB, from a heap array (no copy at all). */
  @Benchmark
  public byte[] sha256Only() {
    sha.reset();
    return sha.digest(heapChunk);
  }
}
