package dev.hive.backend.libvirt;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.hive.api.HiveException;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;

/**
 * The libvirt calls libvirt-java 0.5.4 does not bind (restore with another definition, reading a
 * save image's definition, switching a migration to post-copy), made through JNA on the same
 * connection.
 */
final class NativeLibvirt {
  private NativeLibvirt() {}

  interface Calls extends Library {
    Pointer virDomainSaveImageGetXMLDesc(Pointer conn, String file, int flags);

    int virDomainRestoreFlags(Pointer conn, String file, String dxml, int flags);

    Pointer virDomainLookupByName(Pointer conn, String name);

    int virDomainMigrateStartPostCopy(Pointer domain, int flags);

    int virDomainFree(Pointer domain);

    String virGetLastErrorMessage();
  }

  private static final class Holder {
    static final Calls CALLS = Native.load("virt", Calls.class);
  }

  /** A connection whose native pointer the calls above can use. */
  static final class HiveConnect extends Connect {
    HiveConnect(String uri) throws LibvirtException {
      super(uri);
    }

    Pointer pointer() {
      return vcp.getPointer();
    }
  }

  static String saveImageXml(HiveConnect conn, String file) {
    Pointer xml = Holder.CALLS.virDomainSaveImageGetXMLDesc(conn.pointer(), file, 0);
    if (xml == null) {
      throw new HiveException("cannot read the definition saved in " + file + ": " + Holder.CALLS.virGetLastErrorMessage());
    }
    try {
      return xml.getString(0, "UTF-8");
    } finally {
      Native.free(Pointer.nativeValue(xml));
    }
  }

  static void restore(HiveConnect conn, String file, String xml) {
    if (Holder.CALLS.virDomainRestoreFlags(conn.pointer(), file, xml, 0) != 0) {
      throw new HiveException("cannot restore " + file + ": " + Holder.CALLS.virGetLastErrorMessage());
    }
  }

  static void startPostCopy(HiveConnect conn, String vm) {
    Pointer domain = Holder.CALLS.virDomainLookupByName(conn.pointer(), vm);
    if (domain == null) {
      throw new HiveException("no domain " + vm + ": " + Holder.CALLS.virGetLastErrorMessage());
    }
    try {
      if (Holder.CALLS.virDomainMigrateStartPostCopy(domain, 0) != 0) {
        throw new HiveException("cannot switch " + vm + " to post-copy: " + Holder.CALLS.virGetLastErrorMessage());
      }
    } finally {
      Holder.CALLS.virDomainFree(domain);
    }
  }
}
