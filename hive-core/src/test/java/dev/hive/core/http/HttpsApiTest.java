package dev.hive.core.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hive.api.Cluster;
import dev.hive.api.Hive;
import dev.hive.api.InvalidSpecException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API off loopback: HTTPS only, with a certificate from the cluster CA for the node's addresses. */
class HttpsApiTest {
  @TempDir Path dir;

  private static SSLContext trusting(Path caCert) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(caCert)) {
      trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    return ssl;
  }

  @Test
  void offLoopbackTheApiIsHttpsWithACertificateFromTheClusterCa() throws Exception {
    try (Cluster cluster = Hive.builder().dataDir(dir).httpPort(0).httpBind("0.0.0.0").port(0).bindAddress("127.0.0.1").start()) {
      URI api = URI.create(cluster.apiUrl());
      assertThat(api.getScheme()).isEqualTo("https");
      HttpClient https = HttpClient.newBuilder().sslContext(trusting(dir.resolve("tls").resolve("ca.crt"))).build();
      // The name checked is the address dialled: the certificate lists the node's addresses.
      HttpResponse<String> nodes = https.send(HttpRequest.newBuilder(api.resolve("/api/v1/nodes")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(nodes.statusCode()).as(nodes.body()).isEqualTo(200);
      HttpResponse<String> local = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + api.getPort() + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(local.statusCode()).isEqualTo(200);

      // Plain HTTP on the same port gets no answer from the API.
      HttpClient plain = HttpClient.newHttpClient();
      URI http = URI.create("http://127.0.0.1:" + api.getPort() + "/api/v1/nodes");
      assertThatThrownBy(() -> {
        HttpResponse<String> r = plain.send(HttpRequest.newBuilder(http).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isNotEqualTo(200);
        throw new IOException("answered " + r.statusCode());
      }).isInstanceOf(IOException.class);
      // A client that does not know the cluster CA refuses the certificate.
      assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(api.resolve("/health")).build(), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("tls").resolve("api.key")))).isEqualTo("rw-------");
    }
  }

  @Test
  void aNodeWithoutAClusterCaRefusesToServeOffLoopback() {
    assertThatThrownBy(() -> Hive.builder().dataDir(dir).httpPort(0).httpBind("0.0.0.0").start())
        .isInstanceOf(InvalidSpecException.class).hasMessageContaining("--http-cert");
    assertThatThrownBy(() -> Hive.builder().httpBind("example.com")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("not an IP address");
  }
}
