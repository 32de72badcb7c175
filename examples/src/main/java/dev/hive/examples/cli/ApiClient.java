package dev.hive.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/** The CLI's side of the REST API: JSON requests, errors turned into one readable line. */
final class ApiClient {
  private final URI base;
  private final HttpClient http;
  private final ObjectMapper mapper = new ObjectMapper();
  private final String requestId;
  private final ApiCredentials.Token token;

  /**
   * A client whose writes carry {@code requestId} as their Idempotency-Key (none when null) and
   * that authenticates with {@code token}.
   */
  ApiClient(String base, String requestId, ApiCredentials.Token token, java.nio.file.Path caCert) {
    this.requestId = requestId;
    this.token = token;
    HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (caCert != null && base.startsWith("https:")) {
      builder.sslContext(trusting(caCert));
    }
    this.http = builder.build();
    try {
      URI uri = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
      if (uri.getScheme() == null || uri.getHost() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
        throw new IllegalArgumentException();
      }
      this.base = uri;
    } catch (IllegalArgumentException e) {
      throw new CliException("--api '" + base + "' is not an http(s) URL such as http://127.0.0.1:3000");
    }
  }

  /** An SSL context that trusts only {@code caCert}: a cluster's API is checked against its own CA. */
  private static javax.net.ssl.SSLContext trusting(java.nio.file.Path caCert) {
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(caCert)) {
      java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (java.security.cert.Certificate c : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca-" + i++, c);
      }
      if (i == 0) {
        throw new CliException(caCert + " holds no PEM certificate");
      }
      javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      return ssl;
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new CliException("cannot use " + caCert + " as the CA to trust: " + e.getMessage());
    }
  }

  ObjectMapper mapper() {
    return mapper;
  }

  JsonNode get(String path) {
    return send(HttpRequest.newBuilder(base.resolve(path)).GET());
  }

  JsonNode delete(String path) {
    return send(write(path).DELETE());
  }

  /** Posts a body that is not JSON (a YAML manifest), saying what it is. */
  JsonNode post(String path, byte[] body, String contentType) {
    return send(write(path).header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  JsonNode post(String path, JsonNode body) {
    try {
      byte[] bytes = body == null ? new byte[0] : mapper.writeValueAsBytes(body);
      return send(write(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(bytes)));
    } catch (IOException e) {
      throw new CliException("cannot encode the request: " + e.getMessage());
    }
  }

  private HttpRequest.Builder write(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path));
    return requestId == null ? b : b.header("Idempotency-Key", requestId);
  }

  /** Sends and returns the JSON body even for an error status (used by {@code health}). */
  Response exchange(String path) {
    return exchange(HttpRequest.newBuilder(base.resolve(path)).GET());
  }

  record Response(int status, JsonNode body) {}

  private JsonNode send(HttpRequest.Builder request) {
    Response response = exchange(request);
    if (response.status() >= 400) {
      JsonNode body = response.body();
      String error = body.path("error").asText("HTTP " + response.status());
      String field = body.path("field").asText("");
      throw new CliException(field.isEmpty() ? error : field + ": " + error);
    }
    return response.body();
  }

  private Response exchange(HttpRequest.Builder request) {
    try {
      request.timeout(Duration.ofSeconds(60));
      if (token.chosen()) {
        request.setHeader("Authorization", "Bearer " + token.secret());
      }
      HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (response.statusCode() == 401 && !token.chosen() && token.secret() != null) {
        // The API did not take this user as its owner: try the token found in a data dir. A 401
        // comes before any handler runs, so sending a write again cannot apply it twice.
        response = http.send(request.setHeader("Authorization", "Bearer " + token.secret()).build(), HttpResponse.BodyHandlers.ofByteArray());
      }
      JsonNode body = response.body().length == 0 ? mapper.createObjectNode() : mapper.readTree(response.body());
      if (response.statusCode() == 401) {
        String error = body.path("error").asText("HTTP 401");
        throw new CliException(error + (token.secret() == null ? "; pass --api-token or set $" + ApiCredentials.API_TOKEN_ENV
            : " (token from " + token.source() + ")"));
      }
      return new Response(response.statusCode(), body);
    } catch (ConnectException e) {
      throw new CliException("cannot reach the Hive API at " + base + ": connection refused; start a node with `hive daemon` or pass --api URL");
    } catch (HttpTimeoutException e) {
      throw new CliException("the Hive API at " + base + " did not answer in time");
    } catch (javax.net.ssl.SSLHandshakeException e) {
      throw new CliException("the Hive API at " + base + " has a certificate this CLI does not trust (" + e.getMessage()
          + "); pass --ca-cert with its cluster's DATA_DIR/tls/ca.crt");
    } catch (IOException e) {
      throw new CliException("cannot talk to the Hive API at " + base + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }
}
