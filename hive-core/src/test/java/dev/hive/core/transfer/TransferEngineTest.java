package dev.hive.core.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.OverwritePolicy;
import dev.hive.api.TransferOptions;
import dev.hive.api.TransferState;
import dev.hive.api.TransferStatus;
import dev.hive.core.security.ClusterPki;
import dev.hive.core.security.JoinToken;
import dev.hive.core.security.TlsContexts;
import dev.hive.core.transport.tcp.TcpTransport;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.Transport;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transfer engine between two nodes' real transports (mutual TLS on loopback; plain streams
 * on the receiver's own TCP port): what arrives, what is re-sent, what is refused.
 */
class TransferEngineTest {
  private static final JoinToken TOKEN = JoinToken.of("transfer-token-0123456789abcdef");
  private static final int MIB = 1024 * 1024;

  @TempDir Path tmp;
  private TcpTransport sender;
  private TcpTransport receiverTransport;
  private TransferReceiver receiver;
  private DiscoveredPeer receiverPeer;
  private final BufferPool buffers = new BufferPool(64L * MIB);
  private Path root;
  private ClusterPki receiverPki;
  private Path store;

  @BeforeEach
  void twoNodes() throws Exception {
    ClusterPki ca = ClusterPki.createCluster(Files.createDirectory(tmp.resolve("ca")), "t", "node-a");
    sender = new TcpTransport("node-a", TlsContexts.member(ca, TOKEN));
    KeyPair keys = ClusterPki.newKeyPair();
    receiverPki = ClusterPki.joined(Files.createDirectory(tmp.resolve("b")), keys, ca.issue("node-b", keys.getPublic()), ca.caCertificate(), null);
    receiverTransport = newReceiverTransport();
    root = tmp.resolve("received");
    store = tmp.resolve("transfers");
    receiver = new TransferReceiver(new ReceiveRoot(root), buffers, "127.0.0.1", 0, Duration.ofMillis(20));
    int port = receiverTransport.listen("127.0.0.1", 0, receiver.handler());
    receiverPeer = new DiscoveredPeer("node-b", "127.0.0.1", port);
  }

  @AfterEach
  void close() {
    receiver.close();
    sender.close();
    receiverTransport.close();
  }

  private OutgoingTransfer prepare(Path file, TransferOptions options) {
    return OutgoingTransfer.prepare(file, options, "node-a", "node-b", TransferLink.over(sender, () -> receiverPeer), store, buffers, Clock.systemUTC());
  }

  private TransferStatus send(Path file, TransferOptions options) throws Exception {
    OutgoingTransfer t = prepare(file, options);
    t.open();
    t.start();
    return t.result().get(60, TimeUnit.SECONDS);
  }

  private Path randomFile(String name, long size, long seed) throws IOException {
    Path f = tmp.resolve(name);
    Files.createDirectories(f.getParent());
    Random random = new Random(seed);
    byte[] block = new byte[64 * 1024];
    try (var out = Files.newOutputStream(f)) {
      for (long left = size; left > 0; left -= block.length) {
        random.nextBytes(block);
        out.write(block, 0, (int) Math.min(block.length, left));
      }
    }
    return f;
  }

  private static String sha256(Path f) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(Files.readAllBytes(f));
    return HexFormat.of().formatHex(sha.digest());
  }

  /** The hash over the chunks' hashes, computed here independently of the engine. */
  private static String rootOf(Path f, int chunkSize) throws Exception {
    byte[] bytes = Files.readAllBytes(f);
    MessageDigest outer = MessageDigest.getInstance("SHA-256");
    for (int at = 0; at < bytes.length; at += chunkSize) {
      outer.update(MessageDigest.getInstance("SHA-256").digest(java.util.Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + chunkSize))));
    }
    return HexFormat.of().formatHex(outer.digest());
  }

  private static String mode(Path p) throws IOException {
    return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  private static void chmod(Path p, String mode) throws IOException {
    Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
  }

  @Test
  void filesAndDirectoriesLandWithTheirSourcesModesUnderAnOwnerOnlyRoot() throws Exception {
    // Before modes travelled, a 0640 file (/etc/shadow) and a directory of 0600 keys landed 0644.
    Path shadow = randomFile("src/shadow", 1000, 4);
    chmod(shadow, "rw-r-----");
    assertThat(send(shadow, TransferOptions.builder().build()).state()).isEqualTo(TransferState.SUCCEEDED);
    assertThat(mode(root.resolve("shadow"))).isEqualTo("rw-r-----");

    Path key = randomFile("tls/node.key", 300, 5);
    chmod(key, "rw-------");
    Path script = randomFile("tls/bin/run.sh", 20, 6);
    chmod(script, "rwxr-x---");
    Files.createFile(tmp.resolve("tls/empty"));
    chmod(tmp.resolve("tls/empty"), "r--------");
    chmod(tmp.resolve("tls/bin"), "rwx--x---");
    chmod(tmp.resolve("tls"), "rwx------");
    assertThat(send(tmp.resolve("tls"), TransferOptions.builder().build()).state()).isEqualTo(TransferState.SUCCEEDED);
    assertThat(mode(root.resolve("tls"))).isEqualTo("rwx------");
    assertThat(mode(root.resolve("tls/node.key"))).isEqualTo("rw-------");
    assertThat(mode(root.resolve("tls/bin"))).isEqualTo("rwx--x---");
    assertThat(mode(root.resolve("tls/bin/run.sh"))).isEqualTo("rwxr-x---");
    assertThat(mode(root.resolve("tls/empty"))).isEqualTo("r--------");
    assertThat(mode(root)).as("the receive root").isEqualTo("rwx------");
  }

  @Test
  void aManifestWithAModeBeyondPermissionBitsIsRefused() {
    String json = "{\"id\":\"tx-000000000001\",\"destination\":\"x\",\"directory\":false,\"chunkSize\":1048576,\"bytesTotal\":1,"
        + "\"overwrite\":\"FAIL\",\"files\":[{\"path\":\"\",\"size\":1,\"mode\":%s}]}";
    for (String bad : java.util.List.of("2541", "-1", "\"rw\"")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> TransferManifest.decode(json.formatted(bad).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
          .isInstanceOf(dev.hive.api.InvalidSpecException.class).hasMessageContaining("mode");
    }
    // An older sender's manifest without modes: files land 0644.
    TransferManifest old = TransferManifest.decode(json.replace(",\"mode\":%s", "").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(old.files().get(0).mode()).isEqualTo(0644);
  }

  @Test
  void aFileArrivesWholeOverTlsAndOverPlainStreams() throws Exception {
    Path file = randomFile("src/disk.img", 10L * MIB + 17, 1);
    TransferStatus tls = send(file, TransferOptions.builder().chunkSize(MIB).build());
    assertThat(tls.state()).isEqualTo(TransferState.SUCCEEDED);
    assertThat(sha256(root.resolve("disk.img"))).isEqualTo(sha256(file));
    assertThat(tls.sha256()).isEqualTo(rootOf(file, MIB));
    assertThat(tls.bytesOnWire()).isEqualTo(file.toFile().length());
    assertThat(tls.bytesVerified()).isEqualTo(file.toFile().length());

    TransferStatus plain = send(file, TransferOptions.builder().chunkSize(MIB).encrypted(false).streams(3).destinationName("copies/plain.img").build());
    assertThat(plain.state()).isEqualTo(TransferState.SUCCEEDED);
    assertThat(sha256(root.resolve("copies/plain.img"))).isEqualTo(sha256(file));
    // Nothing is left in the partial area once a transfer is in place.
    try (var left = Files.list(root.resolve(ReceiveRoot.PARTIAL))) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void aDirectoryArrivesAsOneTransferWithItsEmptyFiles() throws Exception {
    randomFile("tree/a.bin", 3L * MIB + 5, 2);
    randomFile("tree/sub/b.bin", 100, 3);
    Files.createFile(tmp.resolve("tree/sub/empty"));
    TransferStatus s = send(tmp.resolve("tree"), TransferOptions.builder().chunkSize(MIB).build());
    assertThat(s.files()).isEqualTo(3);
    assertThat(sha256(root.resolve("tree/a.bin"))).isEqualTo(sha256(tmp.resolve("tree/a.bin")));
    assertThat(sha256(root.resolve("tree/sub/b.bin"))).isEqualTo(sha256(tmp.resolve("tree/sub/b.bin")));
    assertThat(root.resolve("tree/sub/empty")).isEmptyFile();
  }

  @Test
  void aChunkCorruptedOnTheWayIsSentAgainAloneAndTheFileMatches() throws Exception {
    Path file = randomFile("corrupt.img", 8L * MIB, 4);
    AtomicBoolean flipped = new AtomicBoolean();
    receiver.arrivalHook((id, chunk, data) -> {
      if (chunk == 3 && flipped.compareAndSet(false, true)) {
        data.put(data.position() + 1000, (byte) (data.get(data.position() + 1000) ^ 0x01));
      }
    });
    TransferStatus s = send(file, TransferOptions.builder().chunkSize(MIB).build());
    assertThat(s.state()).isEqualTo(TransferState.SUCCEEDED);
    assertThat(s.chunksResent()).isEqualTo(1);
    assertThat(s.bytesOnWire()).isEqualTo(9L * MIB);
    assertThat(sha256(root.resolve("corrupt.img"))).isEqualTo(sha256(file));
  }

  @Test
  void aChunkThatNeverVerifiesFailsTheTransferAndNothingIsRenamedIntoPlace() throws Exception {
    Path file = randomFile("bad.img", 4L * MIB, 5);
    receiver.arrivalHook((id, chunk, data) -> {
      if (chunk == 2) {
        data.put(data.position(), (byte) (data.get(data.position()) ^ 0x80));
      }
    });
    OutgoingTransfer t = prepare(file, TransferOptions.builder().chunkSize(MIB).build());
    t.open();
    t.start();
    assertThatThrownBy(() -> t.result().get(60, TimeUnit.SECONDS)).hasMessageContaining("chunk 2 failed verification 4 times");
    assertThat(t.status().state()).isEqualTo(TransferState.FAILED);
    assertThat(root.resolve("bad.img")).doesNotExist();
  }

  @Test
  void aCancelledTransferResumesSendingOnlyTheChunksNotYetVerified() throws Exception {
    long size = 64L * MIB;
    Path file = randomFile("resume.img", size, 6);
    OutgoingTransfer t = prepare(file, TransferOptions.builder().chunkSize(MIB).bandwidthLimit(32L * MIB).build());
    List<TransferStatus> events = new CopyOnWriteArrayList<>();
    AtomicBoolean cancelledOnce = new AtomicBoolean();
    t.onProgress(s -> {
      events.add(s);
      if (s.bytesVerified() >= size / 2 && cancelledOnce.compareAndSet(false, true)) {
        t.cancel();
      }
    });
    t.open();
    t.start();
    assertThatThrownBy(() -> t.result().get(60, TimeUnit.SECONDS)).hasMessageContaining("cancelled");
    assertThat(t.status().state()).isEqualTo(TransferState.PAUSED);
    long wireAtPause = t.status().bytesOnWire();
    assertThat(root.resolve("resume.img")).doesNotExist();
    // The receiver restarts too: what it recorded is what counts.
    receiver.close();
    receiver = new TransferReceiver(new ReceiveRoot(root), buffers, "127.0.0.1", 0, Duration.ofMillis(20));
    receiverTransport.close();
    receiverTransport = newReceiverTransport();
    receiverPeer = new DiscoveredPeer("node-b", "127.0.0.1", receiverTransport.listen("127.0.0.1", 0, receiver.handler()));
    TransferStatus done = t.resume().result().get(60, TimeUnit.SECONDS);
    assertThat(sha256(root.resolve("resume.img"))).isEqualTo(sha256(file));
    long resent = done.bytesOnWire() - wireAtPause;
    assertThat(resent).isLessThanOrEqualTo((long) (0.55 * size));
    assertThat(events).anyMatch(e -> e.state() == TransferState.RUNNING && e.bytesPerSecond() > 0);
    assertThat(events.get(events.size() - 1).state()).isEqualTo(TransferState.SUCCEEDED);
  }

  private TcpTransport newReceiverTransport() {
    // A restarted receiver keeps its certificate: the same member, a new port.
    return new TcpTransport("node-b", TlsContexts.member(receiverPki, TOKEN));
  }

  @Test
  void namesThatLeaveTheReceiveRootAreRefusedAndNothingIsWrittenOutside() throws Exception {
    Path file = randomFile("x.bin", 1000, 7);
    assertThatThrownBy(() -> TransferOptions.builder().destinationName("../../etc/passwd")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("'..'");
    assertThatThrownBy(() -> TransferOptions.builder().destinationName("/etc/passwd")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("absolute");
    // A sender that does not use the builder: the receiver checks again.
    String raw = "{\"manifest\":{\"id\":\"tx-000000000001\",\"destination\":\"../../etc/passwd\",\"directory\":false,\"chunkSize\":65536,"
        + "\"bytesTotal\":10,\"overwrite\":\"FAIL\",\"files\":[{\"path\":\"\",\"size\":10}]}}";
    assertThatThrownBy(() -> receiver.open("node-a", raw.getBytes())).isInstanceOf(InvalidSpecException.class).hasMessageContaining("'..'");
    String rawDir = raw.replace("../../etc/passwd", "d").replace("\"directory\":false", "\"directory\":true").replace("\"path\":\"\"", "\"path\":\"a/../../x\"");
    assertThatThrownBy(() -> receiver.open("node-a", rawDir.getBytes())).isInstanceOf(InvalidSpecException.class).hasMessageContaining("'..'");
    // A symbolic link under the root that points outside it.
    Path outside = Files.createDirectory(tmp.resolve("outside"));
    Files.createSymbolicLink(root.resolve("evil"), outside);
    OutgoingTransfer t = prepare(file, TransferOptions.builder().destinationName("evil/passwd").build());
    assertThatThrownBy(t::open).isInstanceOf(InvalidSpecException.class).hasMessageContaining("symbolic link");
    assertThat(outside).isEmptyDirectory();
    OutgoingTransfer partial = prepare(file, TransferOptions.builder().destinationName(".hive-partial/x").build());
    assertThatThrownBy(partial::open).isInstanceOf(InvalidSpecException.class).hasMessageContaining("in progress");
  }

  @Test
  void aFileLargerThanTheFreeSpaceIsRefusedBeforeAnyByteMoves() throws Exception {
    Path sparse = tmp.resolve("huge.img");
    long free = Files.getFileStore(root).getUsableSpace();
    try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
      f.setLength(free + 1024L * MIB);
    }
    OutgoingTransfer t = prepare(sparse, TransferOptions.defaults());
    assertThatThrownBy(t::open).isInstanceOf(InvalidSpecException.class).hasMessageContaining("free");
    try (var left = Files.list(root.resolve(ReceiveRoot.PARTIAL))) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void aStreamWhoseChunksLieAboutTheManifestIsRefusedAndTheRestIsUnharmed() throws Exception {
    String manifest = "{\"manifest\":{\"id\":\"tx-0000000000aa\",\"destination\":\"liar.bin\",\"directory\":false,\"chunkSize\":65536,"
        + "\"bytesTotal\":100000,\"overwrite\":\"FAIL\",\"files\":[{\"path\":\"\",\"size\":100000}]},\"plain\":true}";
    com.fasterxml.jackson.databind.JsonNode answer = new com.fasterxml.jackson.databind.ObjectMapper().readTree(receiver.open("node-a", manifest.getBytes()));
    try (SocketChannel c = SocketChannel.open(new java.net.InetSocketAddress("127.0.0.1", answer.path("plainPort").asInt()))) {
      ByteBuffer out = ByteBuffer.allocate(DataProtocol.HELLO_BYTES + DataProtocol.CHUNK_HEADER_BYTES);
      out.putInt(DataProtocol.MAGIC).put(HexFormat.of().parseHex(answer.path("token").asText()));
      // Chunk 1 is 34,464 bytes by the manifest; this one claims 65,536.
      out.put(DataProtocol.CHUNK).putInt(1).putInt(65536).put(new byte[32]).flip();
      DataProtocol.writeFully(c, out);
      DataProtocol.writeFully(c, ByteBuffer.allocate(65536));
      ByteBuffer reply = ByteBuffer.allocate(512);
      while (c.read(reply) > 0) {
        // Read the error to its end.
      }
      reply.flip();
      assertThat(reply.get()).isEqualTo(DataProtocol.ERROR);
      reply.getShort();
      assertThat(java.nio.charset.StandardCharsets.UTF_8.decode(reply).toString()).contains("manifest makes it 34464");
    }
    String lies = manifest.replace("\"bytesTotal\":100000", "\"bytesTotal\":5");
    assertThatThrownBy(() -> receiver.open("node-a", lies.getBytes())).isInstanceOf(InvalidSpecException.class).hasMessageContaining("add up to 100000");
    assertThat(root.resolve("liar.bin")).doesNotExist();
    // The receiver still takes honest transfers.
    Path file = randomFile("honest.bin", 300_000, 8);
    assertThat(send(file, TransferOptions.builder().chunkSize(64 * 1024).build()).state()).isEqualTo(TransferState.SUCCEEDED);
  }

  @Test
  void anExistingDestinationIsKeptUnlessReplacing() throws Exception {
    Path file = randomFile("same.bin", 200_000, 9);
    send(file, TransferOptions.defaults());
    OutgoingTransfer again = prepare(file, TransferOptions.defaults());
    assertThatThrownBy(again::open).isInstanceOf(InvalidSpecException.class).hasMessageContaining("already exists");
    Path changed = randomFile("other/same.bin", 300_000, 10);
    send(changed, TransferOptions.builder().overwrite(OverwritePolicy.REPLACE).build());
    assertThat(sha256(root.resolve("same.bin"))).isEqualTo(sha256(changed));
  }

  @Test
  void sendingRefusesWhatIsNotARegularFile() throws Exception {
    Path link = tmp.resolve("link");
    Files.createSymbolicLink(link, randomFile("target.bin", 10, 11));
    assertThatThrownBy(() -> prepare(link, TransferOptions.defaults())).isInstanceOf(InvalidSpecException.class).hasMessageContaining("symbolic link");
    assertThatThrownBy(() -> prepare(tmp.resolve("missing"), TransferOptions.defaults())).isInstanceOf(InvalidSpecException.class).hasMessageContaining("does not exist");
  }
}
