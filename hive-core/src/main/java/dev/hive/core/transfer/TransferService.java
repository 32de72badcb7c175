package dev.hive.core.transfer;

import dev.hive.api.HiveConfig;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NodeState;
import dev.hive.api.NotFoundException;
import dev.hive.api.Transfer;
import dev.hive.api.TransferOptions;
import dev.hive.api.TransferStatus;
import dev.hive.api.Transfers;
import dev.hive.api.UnavailableException;
import dev.hive.core.cluster.ClusterNode;
import dev.hive.core.cluster.Member;
import dev.hive.core.state.ClusterState;
import dev.hive.core.state.NodeRecord;
import dev.hive.spi.DiscoveredPeer;
import dev.hive.spi.ProviderConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's transfers: the receiver under its receive root, and the transfers it sends, kept in
 * {@code <data>/transfers} so that they are listed and resumable after a restart.
 *
 * <p>Settings: {@code hive.transfer.receive-root} ({@code <data>/received}),
 * {@code hive.transfer.plain-address} (the bind address) and {@code hive.transfer.plain-port} (0:
 * any) for plain streams, {@code hive.transfer.flush-interval} (100ms: how often verified chunks
 * are forced and recorded).
 */
public final class TransferService implements Transfers, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TransferService.class);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  private final String nodeId;
  private final Path storeDir;
  private final TransferReceiver receiver;
  private final BufferPool buffers = new BufferPool(256L * 1024 * 1024);
  private final Map<String, OutgoingTransfer> outgoing = new ConcurrentHashMap<>();
  private final java.time.Clock clock;
  private final Supplier<ClusterState> state;
  private volatile ClusterNode clusterNode;

  public TransferService(HiveConfig config, ProviderConfig settings, String nodeId, Supplier<ClusterState> state) {
    this.nodeId = nodeId;
    this.clock = config.clock();
    this.state = state;
    this.storeDir = config.dataDir().resolve("transfers");
    Path root = settings.setting("hive.transfer.receive-root").map(Path::of).orElse(config.dataDir().resolve("received"));
    int plainPort;
    try {
      plainPort = Integer.parseInt(settings.setting("hive.transfer.plain-port").orElse("0"));
    } catch (NumberFormatException e) {
      throw new InvalidSpecException("hive.transfer.plain-port", "expected a port number, got '" + settings.setting("hive.transfer.plain-port").get() + "'");
    }
    this.receiver = new TransferReceiver(new ReceiveRoot(root), buffers, settings.setting("hive.transfer.plain-address").orElse(config.bindAddress()),
        plainPort, settings.duration("hive.transfer.flush-interval", Duration.ofMillis(100)));
  }

  private void restore() {
    if (!Files.isDirectory(storeDir)) {
      return;
    }
    try (var files = Files.list(storeDir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
        try {
          OutgoingTransfer t = OutgoingTransfer.restore(f, this::link, buffers, clock);
          outgoing.put(t.id(), t);
        } catch (InvalidSpecException e) {
          log.warn("{}", e.getMessage());
        }
      }
    } catch (IOException e) {
      log.warn("cannot list the transfer records in {}: {}", storeDir, e.getMessage());
    }
  }

  /** Takes transfers over the cluster's transport, and reads back the records of transfers sent before a restart. */
  public void attach(ClusterNode node) {
    this.clusterNode = node;
    restore();
    node.handle("hive.transfer.", receiver.handler());
  }

  /** The receiving side, for tests and the benchmark harness. */
  public TransferReceiver receiver() {
    return receiver;
  }

  @Override
  public Transfer send(Path path, String targetNode, TransferOptions options) {
    if (path == null || targetNode == null || options == null) {
      throw new InvalidSpecException("send", "send needs a path, a target node and options (TransferOptions.defaults())");
    }
    String target = resolveTarget(targetNode);
    OutgoingTransfer t = OutgoingTransfer.prepare(path, options, nodeId, target, link(target), storeDir, buffers, clock);
    t.open();
    outgoing.put(t.id(), t);
    t.start();
    return t;
  }

  private String resolveTarget(String nameOrId) {
    ClusterNode node = clusterNode;
    if (node == null) {
      throw new UnavailableException("this node is not clustered, so there is no other node to send to; start it with --seeds or as a daemon");
    }
    String id = nameOrId;
    for (NodeRecord r : state.get().nodes().values()) {
      if (r.name().equals(nameOrId) && !r.id().equals(nameOrId)) {
        id = r.id();
      }
    }
    if (id.equals(nodeId)) {
      throw new InvalidSpecException("target", "'" + nameOrId + "' is this node; send to another node (`hive node ls` lists them)");
    }
    String wanted = id;
    Member m = node.members().stream().filter(x -> x.id().equals(wanted)).findFirst().orElseThrow(() -> new NotFoundException(
        "no member has the id or name '" + nameOrId + "'; `hive node ls` lists them"));
    if (m.state() == NodeState.DEAD || m.state() == NodeState.LEFT) {
      throw new UnavailableException("node " + nameOrId + " is " + m.state() + "; send when it is back");
    }
    return id;
  }

  private TransferLink link(String target) {
    return TransferLink.over(clusterNode.transport(), () -> {
      ClusterNode node = clusterNode;
      DiscoveredPeer p = node == null ? null : node.peerOf(target);
      if (p == null) {
        throw new UnavailableException("node " + target + " is not a member this node knows of now");
      }
      return p;
    });
  }

  @Override
  public List<TransferStatus> list() {
    return outgoing.values().stream().map(Transfer::status).sorted(Comparator.comparing(TransferStatus::startedAt).reversed()).toList();
  }

  @Override
  public Transfer get(String id) {
    OutgoingTransfer t = outgoing.get(id);
    if (t == null) {
      throw new NotFoundException("this node sent no transfer '" + id + "'; `hive transfer ls` lists them");
    }
    return t;
  }

  @Override
  public void close() {
    outgoing.values().forEach(OutgoingTransfer::cancel);
    receiver.close();
  }
}
