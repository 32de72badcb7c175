package dev.hive.core.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.spi.kit.RequiredRuntime;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may call the API: another local user (run as {@code nobody} with {@code setpriv}) needs a
 * token and gets what its role allows; the daemon's own user on loopback needs none, as the
 * seeds' {@code curl} examples assume; with {@code hive.api.trust-local-owner=false} the owner
 * needs one too. Before tokens, {@code nobody} deployed a command that ran as root.
 */
class ApiAuthTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String APP = "{\"name\":\"%s\",\"command\":\"sleep 300\"}";

  @TempDir Path tmp;
  private Path dataDir;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void traversableParent() throws IOException {
    // The data dir's parent is open to all, as a home or /var/lib is: only the data dir's own
    // permissions may keep another user out.
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    dataDir = tmp.resolve("data");
  }

  private static void requireNobody() {
    RequiredRuntime.require("root, to act as the user nobody", isRoot() && Files.isExecutable(Path.of("/usr/bin/setpriv"))
        && Files.isExecutable(Path.of("/usr/bin/curl")), "run the tests as root with setpriv and curl (scripts/setup-host.sh installs them)");
  }

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException e) {
      return false;
    }
  }

  /** Runs a command as nobody:nogroup and returns its output. */
  private static String asNobody(String... command) throws Exception {
    List<String> argv = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"));
    argv.addAll(List.of(command));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  /** curl as nobody: the status code on the last line, the body before it. */
  private static String[] curlAsNobody(String method, String url, String token, String body) throws Exception {
    List<String> argv = new ArrayList<>(List.of("/usr/bin/curl", "-s", "-X", method, "-w", "\n%{http_code}"));
    if (token != null) {
      argv.addAll(List.of("-H", "Authorization: Bearer " + token));
    }
    if (body != null) {
      argv.addAll(List.of("-H", "Content-Type: application/json", "--data-binary", body));
    }
    argv.add(url);
    String out = asNobody(argv.toArray(String[]::new));
    int nl = out.lastIndexOf('\n');
    return new String[] {out.substring(nl + 1).trim(), out.substring(0, Math.max(0, nl))};
  }

  private HttpResponse<String> send(String method, String url, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anotherLocalUserNeedsATokenAndGetsOnlyItsRole() throws Exception {
    requireNobody();
    try (Cluster cluster = Hive.builder().dataDir(dataDir).httpPort(0).start()) {
      String api = cluster.apiUrl();
      String[] anonymous = curlAsNobody("POST", api + "/api/v1/apps", null, APP.formatted("as-nobody"));
      assertThat(anonymous[0]).as(anonymous[1]).isEqualTo("401");
      assertThat(anonymous[1]).contains("Bearer");
      assertThat(cluster.apps().list()).isEmpty();

      // The owner (this test runs as root) needs no token, as `curl http://localhost:3000/...` assumes.
      HttpResponse<String> created = send("POST", api + "/api/v1/tokens", null, "{\"name\":\"viewer\",\"role\":\"read\",\"ttl\":\"1d\"}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      JsonNode viewer = MAPPER.readTree(created.body());
      String secret = viewer.path("secret").asText();
      assertThat(secret).startsWith("hive_");
      assertThat(viewer.path("role").asText()).isEqualTo("read");
      assertThat(viewer.path("expiresAt").asText()).isNotEmpty();

      String[] read = curlAsNobody("GET", api + "/api/v1/apps", secret, null);
      assertThat(read[0]).as(read[1]).isEqualTo("200");
      String[] write = curlAsNobody("POST", api + "/api/v1/apps", secret, APP.formatted("as-viewer"));
      assertThat(write[0]).as(write[1]).isEqualTo("403");
      assertThat(write[1]).contains("viewer").contains("operate");
      String[] joinToken = curlAsNobody("GET", api + "/api/v1/cluster/token", secret, null);
      assertThat(joinToken[0]).isEqualTo("403");
      assertThat(cluster.apps().list()).isEmpty();

      HttpResponse<String> listed = send("GET", api + "/api/v1/tokens", null, null);
      assertThat(listed.body()).contains("viewer").contains("bootstrap").doesNotContain(secret).doesNotContain("sha256");

      assertThat(send("DELETE", api + "/api/v1/tokens/viewer", null, null).statusCode()).isEqualTo(200);
      String[] revoked = curlAsNobody("GET", api + "/api/v1/apps", secret, null);
      assertThat(revoked[0]).isEqualTo("401");
      assertThat(revoked[1]).doesNotContain(secret);
    }
  }

  @Test
  void theOwnerOnLoopbackNeedsNoTokenUnlessTrustIsOff() throws Exception {
    try (Cluster cluster = Hive.builder().dataDir(dataDir).httpPort(0).start()) {
      HttpResponse<String> deployed = send("POST", cluster.apiUrl() + "/api/v1/apps", null, APP.formatted("as-owner"));
      assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(201);
    }
    try (Cluster cluster = Hive.builder().dataDir(dataDir).httpPort(0).setting("hive.api.trust-local-owner", "false").start()) {
      String api = cluster.apiUrl();
      assertThat(send("GET", api + "/api/v1/apps", null, null).statusCode()).isEqualTo(401);
      assertThat(send("GET", api + "/api/v1/apps", "hive_" + "A".repeat(43), null).statusCode()).isEqualTo(401);
      assertThat(send("GET", api + "/api/v1/apps", "not-even-a-token", null).statusCode()).isEqualTo(401);
      // /health stays open for load balancers; /metrics needs a token unless opened.
      assertThat(send("GET", api + "/health", null, null).statusCode()).isEqualTo(200);
      assertThat(send("GET", api + "/metrics", null, null).statusCode()).isEqualTo(401);

      String bootstrap = Files.readString(dataDir.resolve("api-token")).trim();
      HttpResponse<String> apps = send("GET", api + "/api/v1/apps", bootstrap, null);
      assertThat(apps.statusCode()).isEqualTo(200);
      assertThat(apps.body()).contains("as-owner");
    }
  }

  @Test
  void theBootstrapTokenIsMadeOnceAndNoOtherUserCanReadTheDataDir() throws Exception {
    String first;
    try (Cluster cluster = Hive.builder().dataDir(dataDir).httpPort(0).start()) {
      first = ((dev.hive.core.node.LocalCluster) cluster).newBootstrapApiToken().orElseThrow();
      assertThat(Files.readString(dataDir.resolve("api-token")).trim()).isEqualTo(first);
    }
    try (Cluster cluster = Hive.builder().dataDir(dataDir).httpPort(0).start()) {
      assertThat(((dev.hive.core.node.LocalCluster) cluster).newBootstrapApiToken()).as("shown once, on the start that made it").isEmpty();
      assertThat(((dev.hive.core.node.LocalCluster) cluster).apiToken(first)).isPresent();
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve("api-token")))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve("store").resolve("hive.db")))).isEqualTo("rw-------");
    if (isRoot() && Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
      String found = asNobody("/usr/bin/find", dataDir.toString(), "-type", "f", "-readable");
      assertThat(found).as("files nobody can read").doesNotContain(dataDir.toString() + "/");
      assertThat(asNobody("/bin/cat", dataDir.resolve("api-token").toString())).contains("Permission denied");
    }
  }
}
