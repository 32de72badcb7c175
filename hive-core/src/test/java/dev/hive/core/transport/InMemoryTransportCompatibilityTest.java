package dev.hive.core.transport;

import dev.hive.core.transport.memory.InMemoryNetwork;
import dev.hive.spi.Transport;
import dev.hive.spi.kit.TransportCompatibilityKit;

class InMemoryTransportCompatibilityTest extends TransportCompatibilityKit {
  private final InMemoryNetwork network = InMemoryNetwork.realTime();

  @Override
  protected Transport open(String nodeId) {
    return network.transport(nodeId);
  }
}
