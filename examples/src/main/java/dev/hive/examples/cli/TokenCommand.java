package dev.hive.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code hive token}: the API's tokens, as Nomad's {@code acl token} commands. Needs the admin role. */
@Command(
    name = "token",
    description = "API tokens: each has a role, read (look), operate (deploy, scale, transfers, VMs) or admin (tokens, membership).",
    subcommands = {TokenCommand.Create.class, TokenCommand.Ls.class, TokenCommand.Revoke.class})
final class TokenCommand {
  @Command(name = "create", description = "Create a token and print its secret: the only time it is shown.")
  static final class Create implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--name", required = true, description = "what the token is for, e.g. ci")
    String name;

    @Option(names = "--role", required = true, description = "read, operate or admin")
    String role;

    @Option(names = "--ttl", description = "how long it works, e.g. 30d, 12h (default: until revoked)")
    String ttl;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      ApiClient client = root.client();
      ObjectNode body = client.mapper().createObjectNode().put("name", name).put("role", role);
      if (ttl != null) {
        body.put("ttl", ttl);
      }
      JsonNode created = client.post("/api/v1/tokens", body);
      if (root.output == Output.Format.json) {
        Output.json(root.out(), created);
      } else {
        // The secret alone on stdout, so that `TOKEN=$(hive token create ...)` works.
        root.out().println(created.path("secret").asText());
        root.out().flush();
        root.err().println("token '" + name + "' (" + created.path("role").asText() + ")"
            + (created.path("expiresAt").isTextual() ? " until " + created.path("expiresAt").asText() : "") + "; keep the secret: it is not shown again");
        root.err().flush();
      }
    }
  }

  @Command(name = "ls", description = "List tokens: names, roles, creation and expiry (never secrets).")
  static final class Ls implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      Output.print(root.out(), root.output, root.client().get("/api/v1/tokens"), "name", "role", "createdAt", "expiresAt");
    }
  }

  @Command(name = "revoke", description = "Revoke a token: it stops working at once.")
  static final class Revoke implements Runnable {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "the token's name")
    String name;

    @Override
    public void run() {
      HiveCli root = HiveCli.root(spec);
      JsonNode revoked = root.client().delete("/api/v1/tokens/" + java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8));
      if (root.output == Output.Format.json) {
        Output.json(root.out(), revoked);
      } else {
        root.out().println("revoked token '" + name + "'");
        root.out().flush();
      }
    }
  }
}
