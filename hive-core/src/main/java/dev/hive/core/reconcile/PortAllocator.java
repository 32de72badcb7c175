package dev.hive.core.reconcile;

import dev.hive.api.HiveException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;

/** Finds host ports that are free now and not promised to another instance. */
public interface PortAllocator {
  /**
   * Returns a free port not in {@code taken}.
   *
   * @throws HiveException if none is found
   */
  int allocate(Set<Integer> taken);

  /** Returns true when {@code port} can be bound now. */
  boolean isFree(int port);

  /** Asks the kernel for ephemeral ports. */
  PortAllocator SYSTEM =
      new PortAllocator() {
        @Override
        public int allocate(Set<Integer> taken) {
          for (int attempt = 0; attempt < 50; attempt++) {
            try (ServerSocket s = new ServerSocket()) {
              s.setReuseAddress(false);
              s.bind(new InetSocketAddress(0));
              if (!taken.contains(s.getLocalPort())) {
                return s.getLocalPort();
              }
            } catch (IOException e) {
              throw new HiveException("cannot find a free host port: " + e.getMessage(), e);
            }
          }
          throw new HiveException("cannot find a free host port after 50 attempts");
        }

        @Override
        public boolean isFree(int port) {
          try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(port));
            return true;
          } catch (IOException e) {
            return false;
          }
        }
      };
}
