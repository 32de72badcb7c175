package dev.hive.examples.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A healthy five-node cluster of real daemons, watched for false positives: every second each
 * node's view of every other is read, and any SUSPECT or DEAD is counted. Not part of CI. Run:
 *
 * <pre>java -cp examples/target/hive.jar dev.hive.examples.harness.SoakHarness [minutes]</pre>
 *
 * Exits 1 when any node was ever seen SUSPECT or DEAD.
 */
public final class SoakHarness {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SoakHarness() {}

  public static void main(String[] args) throws Exception {
    int minutes = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Path dir = Files.createTempDirectory("hive-soak-");
    List<DaemonProcess> daemons = new ArrayList<>();
    try {
      DaemonProcess first = new DaemonProcess(dir.resolve("n1"), "--node-name", "n1").start();
      daemons.add(first);
      String token = first.cli("cluster", "token").out().strip();
      for (int i = 2; i <= 5; i++) {
        daemons.add(new DaemonProcess(dir.resolve("n" + i), "--node-name", "n" + i, "--seeds", first.clusterAddress(), "--token", token).start());
      }
      long formedBy = System.nanoTime() + 90_000_000_000L;
      while (!allAlive(daemons, 5) && System.nanoTime() < formedBy) {
        DaemonProcess.pause(200);
      }
      System.out.printf("5 nodes formed; watching for %d minute(s)%n", minutes);
      long end = System.nanoTime() + minutes * 60_000_000_000L;
      long samples = 0;
      long falsePositives = 0;
      while (System.nanoTime() < end) {
        for (DaemonProcess d : daemons) {
          for (JsonNode n : nodes(d)) {
            samples++;
            String state = n.path("state").asText();
            if (!state.equals("ALIVE")) {
              falsePositives++;
              System.out.printf("%s sees %s %s%n", d.dataDir.getFileName(), n.path("name").asText(), state);
            }
          }
        }
        DaemonProcess.pause(1000);
      }
      System.out.printf("%d observations over %d minute(s): %d SUSPECT or DEAD%n", samples, minutes, falsePositives);
      System.exit(falsePositives == 0 ? 0 : 1);
    } finally {
      for (DaemonProcess d : daemons) {
        d.close();
      }
    }
  }

  private static boolean allAlive(List<DaemonProcess> daemons, int size) {
    for (DaemonProcess d : daemons) {
      JsonNode nodes = nodes(d);
      if (nodes.size() != size) {
        return false;
      }
      for (JsonNode n : nodes) {
        if (!n.path("state").asText().equals("ALIVE")) {
          return false;
        }
      }
    }
    return true;
  }

  private static JsonNode nodes(DaemonProcess d) {
    try {
      return d.getJson("/api/v1/nodes");
    } catch (java.io.IOException e) {
      return JSON.createArrayNode();
    }
  }
}
