package dev.hive.backend.podman;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.HiveException;
import dev.hive.api.UnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * Podman's libpod REST API over its Unix socket: HTTP calls with JSON bodies, and errors that say
 * which socket and what Podman answered.
 */
final class LibpodClient implements AutoCloseable {
  private static final MediaType JSON = MediaType.get("application/json");
  private static final String API = "v4.0.0/libpod";

  private final Path socket;
  private final OkHttpClient http;
  private final ObjectMapper json = new ObjectMapper();

  LibpodClient(Path socket, Duration callTimeout) {
    this.socket = socket;
    this.http =
        new OkHttpClient.Builder()
            .socketFactory(new UnixSocketFactory(socket))
            // The host name is never resolved to an address that is used, but OkHttp asks for one.
            .dns(host -> List.of(java.net.InetAddress.getLoopbackAddress()))
            .callTimeout(callTimeout)
            .readTimeout(callTimeout)
            .retryOnConnectionFailure(true)
            .build();
  }

  Path socket() {
    return socket;
  }

  ObjectMapper json() {
    return json;
  }

  /** An answer: the HTTP status and the body, read whole. */
  record Reply(int status, byte[] body) {
    boolean ok() {
      return status / 100 == 2;
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  HttpUrl.Builder url(String path) {
    return new HttpUrl.Builder().scheme("http").host("podman").addPathSegments(API).addPathSegments(path);
  }

  Reply get(HttpUrl url) {
    return call(new Request.Builder().url(url).get().build());
  }

  Reply post(HttpUrl url, Object body) {
    RequestBody rb = RequestBody.create(body == null ? new byte[0] : write(body), JSON);
    return call(new Request.Builder().url(url).post(rb).build());
  }

  Reply delete(HttpUrl url) {
    return call(new Request.Builder().url(url).delete().build());
  }

  JsonNode parse(Reply reply) {
    try {
      return json.readTree(reply.body());
    } catch (IOException e) {
      throw new HiveException("podman at " + socket + " answered what is not JSON: " + abbreviate(reply.text()), e);
    }
  }

  /** Throws with Podman's own message unless the reply is a success. */
  Reply expectOk(Reply reply, String what) {
    if (!reply.ok()) {
      throw new HiveException(what + " failed: podman answered " + reply.status() + ": " + message(reply));
    }
    return reply;
  }

  /** Podman's error message in an answer, or the body itself. */
  String message(Reply reply) {
    try {
      JsonNode node = json.readTree(reply.body());
      if (node != null && node.hasNonNull("message")) {
        return node.get("message").asText();
      }
    } catch (IOException ignored) {
      // not JSON: the body says it best
    }
    return abbreviate(reply.text());
  }

  private byte[] write(Object body) {
    try {
      return json.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private Reply call(Request request) {
    try (Response response = http.newCall(request).execute()) {
      return new Reply(response.code(), response.body().bytes());
    } catch (IOException e) {
      throw unreachable(e);
    }
  }

  /** Streams a body to {@code reader}; for answers too long to hold (logs, pulls). */
  <T> T stream(HttpUrl url, String method, byte[] body, StreamReader<T> reader) {
    Request.Builder b = new Request.Builder().url(url);
    if (method.equals("POST")) {
      b.post(RequestBody.create(body == null ? new byte[0] : body, JSON));
    }
    try (Response response = http.newCall(b.build()).execute()) {
      return reader.read(response.code(), response.body().byteStream());
    } catch (IOException e) {
      throw unreachable(e);
    }
  }

  interface StreamReader<T> {
    T read(int status, InputStream body) throws IOException;
  }

  UnavailableException unreachable(IOException e) {
    return new UnavailableException(
        "podman is not reachable at unix://" + socket + " (" + e.getMessage() + "); start its API with "
            + "`podman system service --time=0 unix://" + socket + "` or set hive.podman.socket", e);
  }

  /**
   * Splits the multiplexed log stream of a container without a TTY: frames of an 8-byte header
   * (stream, 0, 0, 0, length as a big-endian int) and that many bytes.
   */
  static List<String> demultiplex(InputStream in) throws IOException {
    StringBuilder text = new StringBuilder();
    byte[] header = new byte[8];
    while (true) {
      int n = in.readNBytes(header, 0, 8);
      if (n < 8) {
        break;
      }
      int length = ((header[4] & 0xff) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
      if (header[0] > 2 || length < 0) {
        // Not a multiplexed stream (a TTY): the header was text.
        text.append(new String(header, 0, n, StandardCharsets.UTF_8)).append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        break;
      }
      text.append(new String(in.readNBytes(length), StandardCharsets.UTF_8));
    }
    List<String> lines = new ArrayList<>(List.of(text.toString().split("\n", -1)));
    if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
      lines.remove(lines.size() - 1);
    }
    return lines;
  }

  private static String abbreviate(String s) {
    String t = s.strip();
    return t.length() > 300 ? t.substring(0, 300) + "..." : t;
  }

  @Override
  public void close() {
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }
}
