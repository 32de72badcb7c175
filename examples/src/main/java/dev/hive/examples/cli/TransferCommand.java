package dev.hive.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.core.state.Sizes;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code hive transfer}: send files and directories to other nodes, list, resume and cancel transfers. */
@Command(
    name = "transfer",
    description = "Move files between nodes: chunked, verified by SHA-256, resumable, over several streams.",
    subcommands = {TransferCommand.Send.class, TransferCommand.Ls.class, TransferCommand.Status.class, TransferCommand.Resume.class, TransferCommand.Cancel.class})
final class TransferCommand {
  private static final String[] COLUMNS = {"id", "file", "target", "destination", "state", "bytesTotal", "bytesVerified", "bytesOnWire", "bytesPerSecond"};

  @Command(name = "send", description = "Send FILE (or a directory) from the API's node to another node; it lands under the receiver's received/ directory.")
  static final class Send implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "a file or directory on the node the API runs on")
    String file;

    @Option(names = "--to", required = true, description = "the receiving node's id or name")
    String to;

    @Option(names = "--streams", description = "parallel streams (default 4)")
    Integer streams;

    @Option(names = "--as", description = "the name to land under, relative to the receive root (default: the file's name)")
    String as;

    @Option(names = "--plain", description = "plain TCP instead of TLS, for trusted networks (chunks are still verified)")
    boolean plain;

    @Option(names = "--chunk-size", description = "chunk size, e.g. 4M (64K to 64M)")
    String chunkSize;

    @Option(names = "--limit", description = "bandwidth limit per second, e.g. 100M")
    String limit;

    @Option(names = "--overwrite", description = "replace the destination if it exists")
    boolean overwrite;

    @Option(names = "--detach", description = "return once started instead of following the progress")
    boolean detach;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      ObjectNode body = client.mapper().createObjectNode();
      body.put("path", Path.of(file).toAbsolutePath().normalize().toString());
      body.put("target", to);
      if (streams != null) {
        body.put("streams", streams);
      }
      if (as != null) {
        body.put("as", as);
      }
      if (plain) {
        body.put("plain", true);
      }
      if (chunkSize != null) {
        long bytes = Sizes.parseBytes("--chunk-size", chunkSize);
        if (bytes > Integer.MAX_VALUE) {
          throw new CliException("--chunk-size " + chunkSize + " is over 64M");
        }
        body.put("chunkSize", (int) bytes);
      }
      if (limit != null) {
        body.put("bandwidthLimit", Sizes.parseBytes("--limit", limit));
      }
      if (overwrite) {
        body.put("overwrite", "REPLACE");
      }
      JsonNode started = client.post("/api/v1/transfers", body);
      follow(root, started, detach);
    }
  }

  @Command(name = "ls", description = "List the transfers the API's node sent.")
  static final class Ls implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      Output.print(root.out(), root.output, root.client().get("/api/v1/transfers"), COLUMNS);
    }
  }

  @Command(name = "status", description = "Show one transfer.")
  static final class Status implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      Output.printObject(root.out(), root.output, root.client().get("/api/v1/transfers/" + HiveCli.encode(id)));
    }
  }

  @Command(name = "resume", description = "Send the rest of a PAUSED transfer: only chunks the receiver has not verified.")
  static final class Resume implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Option(names = "--detach", description = "return once started")
    boolean detach;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      follow(root, client.post("/api/v1/transfers/" + HiveCli.encode(id) + "/resume", client.mapper().createObjectNode()), detach);
    }
  }

  @Command(name = "cancel", description = "Stop a transfer; the receiver keeps what it verified, and `resume` sends the rest.")
  static final class Cancel implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      Output.printObject(root.out(), root.output, client.post("/api/v1/transfers/" + HiveCli.encode(id) + "/cancel", client.mapper().createObjectNode()));
    }
  }

  /**
   * Follows a transfer to its end: a progress bar redrawn in place on a terminal, a line a second
   * otherwise, nothing but the final record with {@code --output json}. Fails unless it SUCCEEDED.
   */
  static void follow(HiveCli root, JsonNode started, boolean detach) {
    PrintWriter out = root.out();
    String id = started.path("id").asText();
    if (detach) {
      if (root.output == Output.Format.json) {
        Output.json(out, started);
      } else {
        out.println("transfer " + id + " started; `hive transfer status " + id + "` follows it");
        out.flush();
      }
      return;
    }
    boolean terminal = System.console() != null && root.output == Output.Format.table;
    boolean lines = !terminal && root.output == Output.Format.table;
    JsonNode s = started;
    long lastLine = 0;
    while (s.path("state").asText().equals("RUNNING")) {
      long now = System.nanoTime();
      if (terminal) {
        out.print("\r" + bar(s));
        out.flush();
      } else if (lines && now - lastLine >= 1_000_000_000L) {
        out.println(line(s));
        out.flush();
        lastLine = now;
      }
      sleep(terminal ? 200 : 250);
      s = root.client().get("/api/v1/transfers/" + HiveCli.encode(id));
    }
    if (terminal) {
      out.println("\r" + bar(s));
    }
    if (root.output == Output.Format.json) {
      Output.json(out, s);
    } else {
      out.println(summary(s));
      out.flush();
    }
    if (!s.path("state").asText().equals("SUCCEEDED")) {
      throw new CliException("transfer " + id + " " + s.path("state").asText() + ": " + s.path("error").asText()
          + (s.path("state").asText().equals("PAUSED") ? " (`hive transfer resume " + id + "` sends the rest)" : ""));
    }
  }

  static String bar(JsonNode s) {
    long total = s.path("bytesTotal").asLong();
    long done = s.path("bytesVerified").asLong();
    double fraction = total == 0 ? 1 : (double) done / total;
    int width = 30;
    int filled = (int) Math.round(fraction * width);
    long rate = s.path("bytesPerSecond").asLong();
    String eta = rate > 0 && total > done ? String.format(Locale.ROOT, " ETA %ds", (total - done + rate - 1) / rate) : "";
    return String.format(Locale.ROOT, "[%s%s] %3d%% %s/%s %s/s%s   ", "#".repeat(filled), ".".repeat(width - filled),
        (int) Math.floor(fraction * 100), Sizes.human(done), Sizes.human(total), Sizes.human(rate), eta);
  }

  static String line(JsonNode s) {
    long total = s.path("bytesTotal").asLong();
    long done = s.path("bytesVerified").asLong();
    return String.format(Locale.ROOT, "%s %3d%% %s of %s, %s/s", s.path("id").asText(), total == 0 ? 100 : (int) (done * 100 / total),
        Sizes.human(done), Sizes.human(total), Sizes.human(s.path("bytesPerSecond").asLong()));
  }

  private static String summary(JsonNode s) {
    String state = s.path("state").asText();
    if (!state.equals("SUCCEEDED")) {
      return s.path("id").asText() + " " + state;
    }
    return String.format(Locale.ROOT, "%s SUCCEEDED: %s to %s as %s, %s at %s/s, %s on the wire, sha256 %s", s.path("id").asText(),
        s.path("file").asText(), s.path("target").asText(), s.path("destination").asText(), Sizes.human(s.path("bytesTotal").asLong()),
        Sizes.human(s.path("bytesPerSecond").asLong()), Sizes.human(s.path("bytesOnWire").asLong()), s.path("sha256").asText());
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }

  private TransferCommand() {}
}
