package dev.hive.examples.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Where the CLI finds the secrets it needs without the user typing them where `ps` shows them. */
final class ApiCredentials {
  /** The environment variable that holds an API token. */
  static final String API_TOKEN_ENV = "HIVE_API_TOKEN";
  /** The environment variable that holds the cluster's join token. */
  static final String JOIN_TOKEN_ENV = "HIVE_JOIN_TOKEN";

  private ApiCredentials() {}

  /**
   * The token to send, and whether the user chose it: a token the user gave is always sent; one
   * found in a data dir is only a guess (another node's, a stale one), sent when the API asks.
   */
  record Token(String secret, boolean chosen, String source) {}

  /**
   * Finds the API token: {@code --api-token}, then {@code $HIVE_API_TOKEN}, then the
   * {@code api-token} file of {@code $HIVE_DATA_DIR} or {@code ~/.hive} if this user can read it.
   */
  static Token find(String flag, Map<String, String> env) {
    if (flag != null && !flag.isBlank()) {
      return new Token(flag.trim(), true, "--api-token");
    }
    String fromEnv = env.get(API_TOKEN_ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return new Token(fromEnv.trim(), true, "$" + API_TOKEN_ENV);
    }
    List<Path> dirs = new ArrayList<>();
    if (env.get("HIVE_DATA_DIR") != null) {
      dirs.add(Path.of(env.get("HIVE_DATA_DIR")));
    }
    dirs.add(Path.of(System.getProperty("user.home"), ".hive"));
    for (Path dir : dirs) {
      Path file = dir.resolve(dev.hive.core.security.ApiTokens.BOOTSTRAP_FILE);
      if (Files.isReadable(file)) {
        try {
          return new Token(Files.readString(file, StandardCharsets.UTF_8).trim(), false, file.toString());
        } catch (IOException e) {
          // Unreadable after all: no token from it.
        }
      }
    }
    return new Token(null, false, "none");
  }

  /**
   * Returns the CA certificate to trust for an https API: {@code --ca-cert}, else the cluster CA of
   * {@code $HIVE_DATA_DIR} or {@code ~/.hive} when readable, else none (the system's CAs).
   */
  static Path trustedCa(Path flag, Map<String, String> env) {
    if (flag != null) {
      if (!Files.isReadable(flag)) {
        throw new CliException("--ca-cert " + flag + " is not a readable file");
      }
      return flag;
    }
    List<Path> dirs = new ArrayList<>();
    if (env.get("HIVE_DATA_DIR") != null) {
      dirs.add(Path.of(env.get("HIVE_DATA_DIR")));
    }
    dirs.add(Path.of(System.getProperty("user.home"), ".hive"));
    for (Path dir : dirs) {
      Path ca = dir.resolve("tls").resolve("ca.crt");
      if (Files.isReadable(ca)) {
        return ca;
      }
    }
    return null;
  }

  /**
   * Returns the join token the daemon was given: {@code --token-file}, then
   * {@code $HIVE_JOIN_TOKEN}, then {@code --token} (with a warning: every user sees it in `ps`).
   *
   * @throws CliException if the file cannot be read or two sources are given
   */
  static String joinToken(String flag, Path file, Map<String, String> env, PrintWriter err) {
    if (flag != null && file != null) {
      throw new CliException("--token and --token-file both given; pass the token one way, preferably --token-file");
    }
    if (file != null) {
      try {
        String token = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (token.isEmpty()) {
          throw new CliException("--token-file " + file + " is empty; copy a member's DATA_DIR/tls/token there");
        }
        return token;
      } catch (IOException e) {
        throw new CliException("cannot read --token-file " + file + ": " + e.getMessage());
      }
    }
    if (flag != null) {
      err.println("warning: --token shows the join token to every user of this host (in `ps`); use --token-file FILE or $" + JOIN_TOKEN_ENV);
      err.flush();
      return flag;
    }
    String fromEnv = env.get(JOIN_TOKEN_ENV);
    return fromEnv == null || fromEnv.isBlank() ? null : fromEnv.trim();
  }
}
