package dev.hive.backend.libvirt;

import dev.hive.api.VmSpec;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.VmRuntime;
import dev.hive.spi.kit.RequiredRuntime;
import dev.hive.spi.kit.VmRuntimeCompatibilityKit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * The kit against the two libvirt daemons scripts/setup-vms.sh starts, with a guest that boots no
 * OS (the kit's guests only need to exist and run; the ITs boot a kernel).
 */
class LibvirtVmRuntimeCompatibilityTest extends VmRuntimeCompatibilityKit {
  static final String A = "qemu+unix:///system?socket=/run/hive-libvirt/node-a/run/libvirt-sock";
  static final String B = "qemu+unix:///system?socket=/run/hive-libvirt/node-b/run/libvirt-sock";
  static final String A_PEER = "qemu+tcp://127.0.0.1:16501/system";
  static final String B_PEER = "qemu+tcp://127.0.0.1:16502/system";

  @Override
  protected VmRuntime createRuntime(Path dataDir) {
    return create(dataDir, A, A_PEER);
  }

  @Override
  protected VmRuntime createPeerRuntime(Path dataDir) {
    return create(dataDir, B, B_PEER);
  }

  static VmRuntime create(Path dataDir, String uri, String peerUri) {
    LibvirtVmRuntimeProvider provider = new LibvirtVmRuntimeProvider();
    RequiredRuntime.require("libvirt", provider.isApplicable(), provider.isApplicable() ? "" : provider.notApplicableReason());
    String socket = uri.substring(uri.indexOf("socket=") + 7);
    RequiredRuntime.require("libvirtd at " + socket, Files.exists(Path.of(socket)), socket + " does not exist");
    return provider.create(new ProviderConfig(dataDir, "kit", "kit-node", Clock.systemUTC(),
        Map.of("hive.libvirt.uri", uri, "hive.libvirt.migration-uri", peerUri)));
  }

  @Override
  protected VmSpec.Builder guest(String name) {
    return VmSpec.builder(name).memoryBytes(64L * 1024 * 1024);
  }

  @Override
  protected String dataAddress() {
    return "tcp://127.0.0.1";
  }
}
