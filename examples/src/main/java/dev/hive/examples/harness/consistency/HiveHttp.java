package dev.hive.examples.harness.consistency;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A harness's calls to a node's REST API: every failure is an answer, never an exception. */
public final class HiveHttp {
  static final ObjectMapper MAPPER = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** An answer: its HTTP status (0 when nothing was sent, -1 when no answer came) and JSON body. */
  public record Answer(int status, JsonNode body) {
    /** Returns the error text of a failed call. */
    public String error() {
      return body.path("error").asText();
    }
  }

  /** Calls {@code method base+path} with a JSON body (or none) and an Idempotency-Key (or none). */
  public Answer call(String base, String method, String path, JsonNode body, String requestId) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
    if (requestId != null) {
      b.header("Idempotency-Key", requestId);
    }
    byte[] bytes = new byte[0];
    if (body != null) {
      try {
        bytes = MAPPER.writeValueAsBytes(body);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      b.header("Content-Type", "application/json");
    }
    b.method(method, bytes.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(bytes));
    try {
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      JsonNode json = r.body().length == 0 ? MAPPER.createObjectNode() : MAPPER.readTree(r.body());
      return new Answer(r.statusCode(), json);
    } catch (ConnectException | HttpConnectTimeoutException e) {
      return new Answer(0, MAPPER.createObjectNode().put("error", "not sent: " + e));
    } catch (IOException e) {
      return new Answer(-1, MAPPER.createObjectNode().put("error", String.valueOf(e)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer(-1, MAPPER.createObjectNode().put("error", "interrupted"));
    }
  }
}
