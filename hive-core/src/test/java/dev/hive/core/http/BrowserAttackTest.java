package dev.hive.core.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.core.http.RawHttp.Answer;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a web page open in a browser on the node's host can make the browser send to the API, and
 * the malformed requests that used to crash a handler. Each request here was answered 2xx or 500
 * before the API checked Host, Origin and Content-Type and parsed paths once.
 */
class BrowserAttackTest {
  private static final String APP = "{\"name\":\"evil\",\"command\":\"sleep 300\"}";

  @TempDir Path dir;
  private Cluster cluster;
  private String api;
  private String hostHeader;

  @BeforeEach
  void start() {
    cluster = Hive.builder().dataDir(dir).httpPort(0).start();
    api = cluster.apiUrl();
    URI uri = URI.create(api);
    hostHeader = uri.getHost() + ":" + uri.getPort();
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void aCrossOriginWriteIsRefusedAndStartsNothing() throws Exception {
    // A form cannot send application/json, but fetch() with no-cors sends text/plain and a
    // cross-site page's Origin: both were accepted and the command ran.
    Answer plain = RawHttp.send(api, "POST", "/api/v1/apps", Map.of("Content-Type", "text/plain", "Origin", "http://evil.example"), APP);
    assertThat(plain.status()).as(plain.body()).isEqualTo(403);
    assertThat(plain.body()).contains("\"field\" : \"Origin\"").contains("http://evil.example");

    Answer json = RawHttp.send(api, "POST", "/api/v1/apps", Map.of("Content-Type", "application/json", "Origin", "null"), APP);
    assertThat(json.status()).as(json.body()).isEqualTo(403);

    Answer noType = RawHttp.send(api, "POST", "/api/v1/apps", Map.of("Content-Type", "text/plain"), APP);
    assertThat(noType.status()).as(noType.body()).isEqualTo(415);
    assertThat(noType.body()).contains("application/json");

    assertThat(cluster.apps().list()).isEmpty();
  }

  @Test
  void aRequestUnderARenamedHostIsRefused() throws Exception {
    // DNS rebinding: evil.example now resolves to 127.0.0.1, so the page is same-origin with the
    // API as far as the browser knows; only the Host header tells.
    int port = URI.create(api).getPort();
    Answer token = RawHttp.send(api, "GET", "/api/v1/cluster/token", Map.of("Host", "evil.example:" + port), "");
    assertThat(token.status()).as(token.body()).isEqualTo(403);
    assertThat(token.body()).contains("\"field\" : \"Host\"").contains("hive.api.allowed-hosts");
    Answer numeric = RawHttp.send(api, "GET", "/api/v1/nodes", Map.of("Host", "1.2.3.4.evil.example:" + port), "");
    assertThat(numeric.status()).isEqualTo(403);

    assertThat(RawHttp.send(api, "GET", "/api/v1/nodes", Map.of("Host", "localhost:" + port), "").status()).isEqualTo(200);
    assertThat(RawHttp.send(api, "GET", "/api/v1/nodes", Map.of(), "").status()).isEqualTo(200);
  }

  @Test
  void aPageOfTheApiItselfMayWrite() throws Exception {
    Answer deployed = RawHttp.send(api, "POST", "/api/v1/apps", Map.of("Content-Type", "application/json; charset=utf-8", "Origin", "http://" + hostHeader),
        APP.replace("evil", "same-origin"));
    assertThat(deployed.status()).as(deployed.body()).isEqualTo(201);
    assertThat(cluster.apps().list()).extracting(a -> a.name()).containsExactly("same-origin");
  }

  @Test
  void malformedRequestsAreAnswered400NotCrashes() throws Exception {
    String deep = "[".repeat(100_000) + "]".repeat(100_000);
    Answer nested = RawHttp.send(api, "POST", "/api/v1/apps", Map.of("Content-Type", "application/json"), deep);
    assertThat(nested.status()).as(nested.body()).isEqualTo(400);
    assertThat(nested.body()).contains("nesting");

    Answer badEscape = RawHttp.send(api, "GET", "/api/v1/apps/%zz", Map.of(), "");
    assertThat(badEscape.status()).as(badEscape.body()).isEqualTo(400);
    Answer badQuery = RawHttp.send(api, "GET", "/api/v1/instances?app=%zz", Map.of(), "");
    assertThat(badQuery.status()).as(badQuery.body()).isEqualTo(400);

    // Decoded once at most: %25zz is the name "%zz" or refused as ambiguous (Jetty refuses a %25 in
    // a path), never decoded again into a bad escape; %252F is never "/".
    Answer once = RawHttp.send(api, "GET", "/api/v1/apps/%25zz", Map.of(), "");
    assertThat(once.status()).as(once.body()).isIn(400, 404);
    assertThat(once.body()).doesNotContain("internal error");
    Answer slash = RawHttp.send(api, "GET", "/api/v1/apps/a%252Fb", Map.of(), "");
    assertThat(slash.status()).as(slash.body()).isIn(400, 404);
    assertThat(slash.body()).doesNotContain("a/b").containsAnyOf("a%2Fb", "a%252Fb");
  }
}
