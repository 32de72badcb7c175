package dev.hive.backend.libvirt;

import dev.hive.api.UnavailableException;
import dev.hive.spi.ProviderConfig;
import dev.hive.spi.VmRuntime;
import dev.hive.spi.VmRuntimeProvider;

/**
 * Provides VM runtime {@code libvirt}. Settings: {@code hive.libvirt.uri} (default {@code
 * qemu:///system}), {@code hive.libvirt.migration-uri} (how peer hypervisors reach this one for
 * live migration; default the same URI), {@code hive.libvirt.domain-type} ({@code qemu}, i.e. TCG;
 * {@code kvm} where /dev/kvm works).
 */
public final class LibvirtVmRuntimeProvider implements VmRuntimeProvider {
  /** The URI a node uses when none is set. */
  public static final String DEFAULT_URI = "qemu:///system";

  @Override
  public String name() {
    return "libvirt";
  }

  @Override
  public int priority() {
    return 10;
  }

  @Override
  public boolean isApplicable() {
    return nativeLibraryProblem() == null;
  }

  @Override
  public String notApplicableReason() {
    String problem = nativeLibraryProblem();
    return problem == null ? "applicable" : problem;
  }

  /** The binding loads libvirt.so on first use and fails with an Error, not a LibvirtException. */
  private static String nativeLibraryProblem() {
    try {
      org.libvirt.Library.getVersion();
      return null;
    } catch (LinkageError e) {
      return "the native libvirt library cannot be loaded (" + e.getMessage() + "); install Debian's libvirt0 (scripts/setup-vms.sh does)";
    } catch (org.libvirt.LibvirtException e) {
      return "libvirt answers with an error: " + e.getMessage();
    }
  }

  @Override
  public VmRuntime create(ProviderConfig config) {
    String problem = nativeLibraryProblem();
    if (problem != null) {
      throw new UnavailableException("VM runtime libvirt: " + problem);
    }
    String uri = config.setting("hive.libvirt.uri").orElse(DEFAULT_URI);
    String migrationUri = config.setting("hive.libvirt.migration-uri").orElse(uri);
    String domainType = config.setting("hive.libvirt.domain-type").orElse("qemu");
    if (!domainType.equals("qemu") && !domainType.equals("kvm")) {
      throw new dev.hive.api.InvalidSpecException("hive.libvirt.domain-type", "expected qemu or kvm, got '" + domainType + "'");
    }
    return new LibvirtVmRuntime(uri, migrationUri, config.clusterName(), domainType, config.dataDir().resolve("serial"));
  }
}
