package dev.hive.api;

import java.nio.file.Path;
import java.util.List;

/** Moves files and directories between the cluster's nodes. */
public interface Transfers {
  /**
   * Starts sending a regular file, or a directory's regular files under one manifest, to a node.
   *
   * @param path the file or directory on this node
   * @param targetNode the receiving node's id or name
   * @param options how to send it; {@link TransferOptions#defaults()} for four TLS streams
   * @return the running transfer
   * @throws InvalidSpecException if the path is missing or unreadable, holds a symbolic link,
   *     the target is this node, or the receiver refuses the name, the size or the free space
   * @throws NotFoundException if no live member has that id or name
   * @throws UnavailableException if the target cannot be reached
   */
  Transfer send(Path path, String targetNode, TransferOptions options);

  /** Returns the transfers this node sent or is sending, newest first. */
  List<TransferStatus> list();

  /**
   * Returns one of this node's transfers.
   *
   * @throws NotFoundException if this node sent no transfer with that id
   */
  Transfer get(String id);
}
