package dev.hive.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.core.state.Sizes;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code hive vm}: create, drive and migrate virtual machines. */
@Command(
    name = "vm",
    description = "Virtual machines on the nodes' hypervisors: create, start, stop, suspend, resume, remove, and migrate cold, warm or live.",
    subcommands = {VmCommand.Create.class, VmCommand.Ls.class, VmCommand.Info.class, VmCommand.Start.class, VmCommand.Stop.class,
        VmCommand.Suspend.class, VmCommand.Resume.class, VmCommand.Rm.class, VmCommand.Migrate.class, VmCommand.Migrations.class,
        VmCommand.MigrationStatus.class, VmCommand.Cancel.class})
final class VmCommand {
  private static final String[] COLUMNS = {"name", "node", "state", "vcpus", "memoryBytes", "cpuTimeNanos", "migration"};
  private static final String[] MIGRATION_COLUMNS = {"id", "vm", "mode", "source", "target", "state", "phase", "percent", "totalMs", "downtimeMs", "bytes"};

  @Command(name = "create", description = "Define and start a VM on a node with a VM runtime and room for it.")
  static final class Create implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--name", required = true, description = "the VM's name: letters, digits, '.', '_', '-'")
    String name;

    @Option(names = "--vcpus", defaultValue = "1", description = "virtual CPUs (default: ${DEFAULT-VALUE})")
    int vcpus;

    @Option(names = "--memory", defaultValue = "256M", description = "memory, e.g. 256M or 2G (default: ${DEFAULT-VALUE})")
    String memory;

    @Option(names = "--disk", description = "a disk image on the node (repeatable; the first boots)")
    List<String> disks = new ArrayList<>();

    @Option(names = "--kernel", description = "a kernel to boot directly")
    String kernel;

    @Option(names = "--initrd", description = "the initrd booted with --kernel")
    String initrd;

    @Option(names = "--cmdline", description = "the kernel command line")
    String cmdline;

    @Option(names = "--network", description = "a hypervisor network for one interface, e.g. default")
    String network;

    @Option(names = "--serial-log", description = "the file its serial console is appended to")
    String serialLog;

    @Option(names = "--node", description = "the node to create it on (default: placement chooses)")
    String node;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      ObjectNode body = client.mapper().createObjectNode().put("name", name).put("vcpus", vcpus)
          .put("memoryBytes", Sizes.parseBytes("--memory", memory));
      disks.forEach(d -> body.withArray("disks").add(absolute(d)));
      if (kernel != null) {
        body.put("kernel", absolute(kernel));
      }
      if (initrd != null) {
        body.put("initrd", absolute(initrd));
      }
      if (cmdline != null) {
        body.put("cmdline", cmdline);
      }
      if (network != null) {
        body.put("network", network);
      }
      if (serialLog != null) {
        body.put("serialLog", absolute(serialLog));
      }
      if (node != null) {
        body.put("node", node);
      }
      Output.printObject(root.out(), root.output, client.post("/api/v1/vms", body));
    }
  }

  private static String absolute(String path) {
    return Path.of(path).toAbsolutePath().normalize().toString();
  }

  @Command(name = "ls", description = "List the cluster's VMs with their node and state.")
  static final class Ls implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      Output.print(root.out(), root.output, root.client().get("/api/v1/vms"), COLUMNS);
    }
  }

  @Command(name = "info", description = "Show one VM: state, counters and spec.")
  static final class Info implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--name", required = true)
    String name;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      Output.printObject(root.out(), root.output, root.client().get("/api/v1/vms/" + HiveCli.encode(name)));
    }
  }

  /** The lifecycle commands differ only in their verb. */
  abstract static class Action implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--name", required = true)
    String name;

    abstract String verb();

    ObjectNode body(ApiClient client) {
      return client.mapper().createObjectNode();
    }

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      Output.printObject(root.out(), root.output, client.post("/api/v1/vms/" + HiveCli.encode(name) + "/" + verb(), body(client)));
    }
  }

  @Command(name = "start", description = "Start a shut-off VM.")
  static final class Start extends Action {
    @Override
    String verb() {
      return "start";
    }
  }

  @Command(name = "stop", description = "Shut a VM down (ACPI), stopping it at once after the grace period.")
  static final class Stop extends Action {
    @Option(names = "--grace", defaultValue = "30", description = "seconds to wait for the guest (default: ${DEFAULT-VALUE})")
    long graceSeconds;

    @Override
    String verb() {
      return "stop";
    }

    @Override
    ObjectNode body(ApiClient client) {
      return client.mapper().createObjectNode().put("graceSeconds", graceSeconds);
    }
  }

  @Command(name = "suspend", description = "Pause a VM's vCPUs; it stays in memory.")
  static final class Suspend extends Action {
    @Override
    String verb() {
      return "suspend";
    }
  }

  @Command(name = "resume", description = "Resume a suspended VM.")
  static final class Resume extends Action {
    @Override
    String verb() {
      return "resume";
    }
  }

  @Command(name = "rm", description = "Stop a VM and remove its definition (disk images stay).")
  static final class Rm implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--name", required = true)
    String name;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      Output.printObject(root.out(), root.output, root.client().delete("/api/v1/vms/" + HiveCli.encode(name)));
    }
  }

  @Command(name = "migrate", description = "Move a VM to another node: cold (reboots), warm (saved and restored) or live (keeps running).")
  static final class Migrate implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--name", required = true)
    String name;

    @Option(names = "--to", required = true, description = "the target node's id or name")
    String to;

    @Option(names = "--mode", defaultValue = "live", description = "cold, warm or live (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--watch", description = "draw a progress bar (on a terminal) until it ends")
    boolean watch;

    @Option(names = "--max-downtime", description = "LIVE: the longest pause at switch-over in ms (default 300)")
    Long maxDowntimeMs;

    @Option(names = "--bandwidth", description = "LIVE: a bandwidth cap in MiB/s")
    Long bandwidth;

    @Option(names = "--auto-converge", description = "LIVE: throttle the guest's vCPUs if memory does not converge")
    boolean autoConverge;

    @Option(names = "--post-copy", description = "LIVE: switch to post-copy after the first pre-copy round")
    boolean postCopy;

    @Option(names = "--timeout", description = "seconds before it is rolled back (default 600)")
    Long timeoutSeconds;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      ObjectNode body = client.mapper().createObjectNode().put("target", to).put("mode", mode);
      if (maxDowntimeMs != null) {
        body.put("maxDowntimeMs", maxDowntimeMs);
      }
      if (bandwidth != null) {
        body.put("bandwidthMiBps", bandwidth);
      }
      if (autoConverge) {
        body.put("autoConverge", true);
      }
      if (postCopy) {
        body.put("postCopy", true);
      }
      if (timeoutSeconds != null) {
        body.put("timeoutSeconds", timeoutSeconds);
      }
      follow(root, client.post("/api/v1/vms/" + HiveCli.encode(name) + "/migrate", body), watch);
    }
  }

  @Command(name = "migrations", description = "List the migrations the cluster recorded, newest first.")
  static final class Migrations implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      Output.print(root.out(), root.output, root.client().get("/api/v1/migrations"), MIGRATION_COLUMNS);
    }
  }

  @Command(name = "migration", description = "Show one migration; with --watch, follow it to its end.")
  static final class MigrationStatus implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Option(names = "--watch", description = "follow it to its end")
    boolean watch;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      JsonNode s = root.client().get("/api/v1/migrations/" + HiveCli.encode(id));
      if (watch) {
        follow(root, s, true);
      } else {
        Output.printObject(root.out(), root.output, s);
      }
    }
  }

  @Command(name = "cancel", description = "Cancel a running migration; it rolls back, and the VM runs on its source.")
  static final class Cancel implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      Output.printObject(root.out(), root.output, client.post("/api/v1/migrations/" + HiveCli.encode(id) + "/cancel", client.mapper().createObjectNode()));
    }
  }

  /**
   * Follows a migration to its end: a progress bar on a terminal with --watch, a line a second
   * otherwise, nothing but the final record with {@code --output json}. Fails unless it SUCCEEDED.
   */
  static void follow(HiveCli root, JsonNode started, boolean watch) {
    PrintWriter out = root.out();
    String id = started.path("id").asText();
    boolean terminal = watch && System.console() != null && root.output == Output.Format.table;
    boolean lines = !terminal && root.output == Output.Format.table;
    JsonNode s = started;
    String lastLine = "";
    long lastAt = 0;
    while (s.path("state").asText().equals("RUNNING")) {
      if (terminal) {
        out.print("\r" + bar(s));
        out.flush();
      } else if (lines) {
        String line = line(s);
        long now = System.nanoTime();
        if (!line.equals(lastLine) && now - lastAt >= 500_000_000L) {
          out.println(line);
          out.flush();
          lastLine = line;
          lastAt = now;
        }
      }
      sleep(200);
      s = root.client().get("/api/v1/migrations/" + HiveCli.encode(id));
    }
    if (terminal) {
      out.println("\r" + bar(s));
    }
    if (root.output == Output.Format.json) {
      Output.json(out, s);
    } else {
      out.println("migration " + id + " of " + s.path("vm").asText() + " (" + s.path("mode").asText() + "): " + s.path("state").asText() + " in "
          + s.path("totalMs").asLong() + " ms, downtime " + s.path("downtimeMs").asLong() + " ms, " + Sizes.human(s.path("bytes").asLong()) + " moved"
          + (s.path("error").asText().isEmpty() ? "" : "; " + s.path("error").asText()));
      out.flush();
    }
    if (!s.path("state").asText().equals("SUCCEEDED")) {
      throw new CliException("migration " + id + " " + s.path("state").asText() + ": " + s.path("error").asText());
    }
  }

  static String bar(JsonNode s) {
    int percent = s.path("percent").asInt();
    int width = 30;
    int filled = percent * width / 100;
    return "[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + String.format("%3d%%", percent) + " " + phase(s) + "  "
        + Sizes.human(s.path("bytes").asLong()) + "/" + Sizes.human(s.path("bytesTotal").asLong())
        + (s.path("dirtyPagesPerSecond").asLong() > 0 ? "  dirty " + s.path("dirtyPagesPerSecond").asLong() + " pages/s" : "")
        + (s.path("expectedDowntimeMs").asLong() > 0 ? "  expected downtime " + s.path("expectedDowntimeMs").asLong() + " ms" : "") + "   ";
  }

  static String line(JsonNode s) {
    return s.path("percent").asInt() + "% " + phase(s) + " " + Sizes.human(s.path("bytes").asLong()) + "/" + Sizes.human(s.path("bytesTotal").asLong());
  }

  private static String phase(JsonNode s) {
    String phase = s.path("phase").asText().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    return s.path("phase").asText().equals("ITERATING") ? phase + " (round " + s.path("round").asInt() + ")" : phase;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }
}
