package dev.hive.backend.libvirt;

import dev.hive.api.HiveException;
import dev.hive.api.VmSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** Libvirt domain definitions: written from a {@link VmSpec}, and read back where Hive needs to. */
final class DomainXml {
  /** The namespace of the metadata element that marks a domain as Hive's, and whose cluster. */
  static final String NAMESPACE = "https://hive.dev/xmlns/libvirt/vm/1";

  private DomainXml() {}

  /**
   * The definition of {@code spec}. The UUID is derived from the cluster and the name, so the
   * same VM has the same UUID on every node: a saved image restores into it anywhere.
   */
  static String of(VmSpec spec, String cluster, String domainType, Path serialLog) {
    StringBuilder x = new StringBuilder();
    x.append("<domain type='").append(escape(domainType)).append("'>\n");
    x.append("  <name>").append(escape(spec.name())).append("</name>\n");
    x.append("  <uuid>").append(uuid(cluster, spec.name())).append("</uuid>\n");
    x.append("  <metadata><hive:vm xmlns:hive='").append(NAMESPACE).append("' cluster='").append(escape(cluster)).append("'/></metadata>\n");
    x.append("  <memory unit='b'>").append(spec.memoryBytes()).append("</memory>\n");
    x.append("  <vcpu>").append(spec.vcpus()).append("</vcpu>\n");
    x.append("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
    spec.kernel().ifPresent(k -> x.append("    <kernel>").append(escape(k.toString())).append("</kernel>\n"));
    spec.initrd().ifPresent(i -> x.append("    <initrd>").append(escape(i.toString())).append("</initrd>\n"));
    spec.cmdline().ifPresent(c -> x.append("    <cmdline>").append(escape(c)).append("</cmdline>\n"));
    if (spec.kernel().isEmpty()) {
      x.append("    <boot dev='hd'/>\n");
    }
    x.append("  </os>\n");
    x.append("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n");
    x.append("  <devices>\n");
    char letter = 'a';
    for (Path disk : spec.disks()) {
      x.append("    <disk type='file' device='disk'><driver name='qemu' type='").append(format(disk)).append("'/>")
          .append("<source file='").append(escape(disk.toString())).append("'/>")
          .append("<target dev='vd").append(letter++).append("' bus='virtio'/></disk>\n");
    }
    spec.network().ifPresent(n -> x.append("    <interface type='network'><source network='").append(escape(n))
        .append("'/><model type='virtio'/></interface>\n"));
    x.append("    <serial type='file'><source path='").append(escape(serialLog.toString())).append("' append='on'/><target port='0'/></serial>\n");
    x.append("    <memballoon model='none'/>\n");
    x.append("  </devices>\n</domain>\n");
    return x.toString();
  }

  static UUID uuid(String cluster, String name) {
    return UUID.nameUUIDFromBytes(("hive-vm:" + cluster + ":" + name).getBytes(StandardCharsets.UTF_8));
  }

  /** Whether {@code xml} carries Hive's mark for {@code cluster}. */
  static boolean ownedBy(String xml, String cluster) {
    Element mark = mark(parse(xml));
    return mark != null && cluster.equals(mark.getAttribute("cluster"));
  }

  private static Element mark(Document doc) {
    NodeList marks = doc.getElementsByTagNameNS(NAMESPACE, "vm");
    return marks.getLength() == 0 ? null : (Element) marks.item(0);
  }

  /** The target device names of its disks ({@code vda}, ...) and of its interfaces ({@code vnet0}, ...). */
  static List<String> targets(String xml, String deviceTag) {
    List<String> result = new ArrayList<>();
    NodeList devices = parse(xml).getElementsByTagName(deviceTag);
    for (int i = 0; i < devices.getLength(); i++) {
      NodeList targets = ((Element) devices.item(i)).getElementsByTagName("target");
      if (targets.getLength() > 0 && !((Element) targets.item(0)).getAttribute("dev").isEmpty()) {
        result.add(((Element) targets.item(0)).getAttribute("dev"));
      }
    }
    return result;
  }

  /** {@code xml} with its disks' source files replaced, in order, by {@code disks}. */
  static String withDisks(String xml, List<Path> disks) {
    Document doc = parse(xml);
    NodeList all = doc.getElementsByTagName("disk");
    int next = 0;
    for (int i = 0; i < all.getLength() && next < disks.size(); i++) {
      Element disk = (Element) all.item(i);
      if (!"disk".equals(disk.getAttribute("device"))) {
        continue;
      }
      NodeList sources = disk.getElementsByTagName("source");
      if (sources.getLength() > 0) {
        ((Element) sources.item(0)).setAttribute("file", disks.get(next++).toString());
      }
    }
    try {
      StringWriter out = new StringWriter();
      var transformer = TransformerFactory.newInstance().newTransformer();
      transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      transformer.transform(new DOMSource(doc), new StreamResult(out));
      return out.toString();
    } catch (javax.xml.transform.TransformerException e) {
      throw new HiveException("cannot write a domain definition: " + e.getMessage(), e);
    }
  }

  private static Document parse(String xml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      return f.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    } catch (Exception e) {
      throw new HiveException("libvirt returned a definition that is not XML: " + e.getMessage(), e);
    }
  }

  /** qcow2 by its magic bytes, raw otherwise. */
  private static String format(Path disk) {
    try (InputStream in = Files.newInputStream(disk)) {
      byte[] magic = in.readNBytes(4);
      return magic.length == 4 && magic[0] == 'Q' && magic[1] == 'F' && magic[2] == 'I' && (magic[3] & 0xff) == 0xfb ? "qcow2" : "raw";
    } catch (IOException e) {
      return "raw";
    }
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;").replace("\"", "&quot;");
  }
}
