package dev.hive.core.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.OutcomeUnknownException;
import dev.hive.api.UnavailableException;
import dev.hive.api.WriteOptions;
import dev.hive.core.internal.LocalCluster;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API on the JDK's HTTP server: JSON in and out, errors as {@code {"error", "field",
 * "status"}} with a 4xx naming the field at fault. Routes are in {@link ApiRoutes}.
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
  static final int MAX_BODY_BYTES = 1024 * 1024;
  static final int API_THREADS = 16;
  /** The header that carries a write's request id, as Stripe's and the IETF draft's APIs name it. */
  static final String IDEMPOTENCY_KEY = "Idempotency-Key";

  /** One request, with its path parameters. */
  record Request(String method, String path, Map<String, String> params, Map<String, String> query, byte[] body, String contentType,
      String requestId) {
    /**
     * Returns the write options of this request: its {@code Idempotency-Key}, or the id the
     * server gave it, so that a write that times out can be asked about by that id.
     *
     * @throws InvalidSpecException if the key is not a valid request id
     */
    WriteOptions writeOptions() {
      try {
        return WriteOptions.requestId(requestId);
      } catch (InvalidSpecException e) {
        throw new InvalidSpecException("Idempotency-Key", e.reason());
      }
    }

    /**
     * Parses the body as a JSON object.
     *
     * @throws InvalidSpecException if it is empty or malformed
     */
    JsonNode json(ObjectMapper mapper) {
      if (body.length == 0) {
        throw new InvalidSpecException("body", "empty; send a JSON object");
      }
      if (!BrowserGuard.mediaType(contentType).equals("application/json")) {
        throw new InvalidSpecException("Content-Type", "'" + contentType + "' is not JSON; send the body with Content-Type: application/json");
      }
      try {
        JsonNode node = mapper.readTree(body);
        if (node == null || !node.isObject()) {
          throw new InvalidSpecException("body", "expected a JSON object");
        }
        return node;
      } catch (JsonProcessingException e) {
        // A limit of the parser (nesting deeper than 1,000, a number too long) has no location.
        String at = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
        throw new InvalidSpecException("body", "malformed JSON" + at + ": " + e.getOriginalMessage());
      } catch (IOException e) {
        throw new InvalidSpecException("body", "unreadable: " + e.getMessage());
      }
    }
  }

  /** An answer: JSON, or raw bytes of another content type (the Prometheus text format). */
  record Response(int status, JsonNode body, byte[] raw, String contentType) {
    Response(int status, JsonNode body) {
      this(status, body, null, "application/json");
    }

    static Response text(String text, String contentType) {
      return new Response(200, null, text.getBytes(StandardCharsets.UTF_8), contentType);
    }
  }

  /** Answers one route. */
  interface Handler {
    Response handle(Request request);
  }

  private record Route(String method, Pattern pattern, List<String> names, Handler handler) {}

  private final HttpServer server;
  private final ExecutorService pool;
  private final BrowserGuard browserGuard;
  private final ObjectMapper mapper = new ObjectMapper();
  private final List<Route> routes = new ArrayList<>();

  private ApiServer(HttpServer server, ExecutorService pool, BrowserGuard browserGuard) {
    this.server = server;
    this.pool = pool;
    this.browserGuard = browserGuard;
  }

  /**
   * Starts the API for {@code cluster} on {@code host}:{@code port} (0 for any free port).
   *
   * @param allowedHosts the names besides IP literals and {@code localhost} that requests may carry
   *     as their Host
   * @throws UnavailableException if the port cannot be bound
   */
  public static ApiServer start(LocalCluster cluster, String host, int port, java.util.Set<String> allowedHosts) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(host, port), 64);
    } catch (IOException e) {
      throw new UnavailableException("cannot serve the REST API on " + host + ":" + port + ": " + e.getMessage()
          + "; is another daemon running? choose another port with --http-port", e);
    }
    // Writes wait on the log up to their deadline (10 s): with four threads, twenty writes to a
    // node cut off from the majority answered one batch of four every 10 s.
    ExecutorService pool =
        Executors.newFixedThreadPool(
            API_THREADS,
            r -> {
              Thread t = new Thread(r, "hive-api");
              t.setDaemon(true);
              return t;
            });
    ApiServer api = new ApiServer(server, pool, new BrowserGuard(allowedHosts));
    new ApiRoutes(cluster, api.mapper).register(api);
    new ServiceRoutes(cluster, api.mapper).register(api);
    new MetricsRoutes(cluster, api.mapper).register(api);
    new TransferRoutes(cluster, api.mapper).register(api);
    new VmRoutes(cluster, api.mapper).register(api);
    server.setExecutor(pool);
    server.createContext("/", api::serve);
    server.start();
    return api;
  }

  /** Registers a route; {@code template} names path parameters as {@code {name}}. */
  void route(String method, String template, Handler handler) {
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("\\{([a-zA-Z]+)}").matcher(template);
    StringBuilder regex = new StringBuilder();
    int last = 0;
    while (m.find()) {
      regex.append(Pattern.quote(template.substring(last, m.start()))).append("([^/]+)");
      names.add(m.group(1));
      last = m.end();
    }
    regex.append(Pattern.quote(template.substring(last)));
    routes.add(new Route(method, Pattern.compile(regex.toString()), names, handler));
  }

  /** Returns the base URL, e.g. {@code http://127.0.0.1:3000}. */
  public String url() {
    InetSocketAddress address = server.getAddress();
    return "http://" + address.getHostString() + ":" + address.getPort();
  }

  private void serve(HttpExchange exchange) throws IOException {
    Response response;
    try {
      response = dispatch(exchange);
    } catch (InvalidSpecException e) {
      response = error(400, e.reason(), e.field());
    } catch (NotFoundException e) {
      response = error(404, e.getMessage(), null);
    } catch (ConflictException e) {
      response = error(409, e.getMessage(), null);
    } catch (OutcomeUnknownException e) {
      response = error(503, e.getMessage(), null);
      ((ObjectNode) response.body()).put("requestId", e.requestId()).put("outcome", "UNKNOWN");
    } catch (UnavailableException e) {
      response = error(503, e.getMessage(), null);
    } catch (HiveException e) {
      response = error(500, e.getMessage(), null);
    } catch (RuntimeException e) {
      log.error("API request {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
      response = error(500, "internal error: " + e, null);
    }
    byte[] bytes = response.raw() != null ? response.raw() : mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(response.body());
    exchange.getResponseHeaders().set("Content-Type", response.contentType());
    exchange.sendResponseHeaders(response.status(), bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private Response dispatch(HttpExchange exchange) throws IOException {
    com.sun.net.httpserver.Headers headers = exchange.getRequestHeaders();
    String length = headers.getFirst("Content-Length");
    boolean hasBody = headers.containsKey("Transfer-Encoding") || (length != null && !length.trim().equals("0"));
    java.util.Optional<BrowserGuard.Refusal> refusal =
        browserGuard.check(headers.getFirst("Host"), headers.getFirst("Origin"), headers.getFirst("Content-Type"), hasBody);
    if (refusal.isPresent()) {
      return error(refusal.get().status(), refusal.get().reason(), refusal.get().field());
    }
    // Routes match the raw path and each parameter is decoded once: decoding the whole path first
    // turned %2F into a separator, and decoding again turned %252F into one.
    String path = exchange.getRequestURI().getRawPath();
    if (path.length() > 1 && path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    String method = exchange.getRequestMethod();
    boolean pathMatched = false;
    for (Route route : routes) {
      Matcher m = route.pattern().matcher(path);
      if (!m.matches()) {
        continue;
      }
      pathMatched = true;
      if (!route.method().equals(method)) {
        continue;
      }
      Map<String, String> params = new HashMap<>();
      for (int i = 0; i < route.names().size(); i++) {
        params.put(route.names().get(i), decodeSegment(m.group(i + 1)));
      }
      byte[] body = readBody(exchange.getRequestBody());
      String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
      // Every write has a request id: the caller's Idempotency-Key, or one given here and
      // returned in that header, so that a write whose outcome is unknown can be asked about.
      String requestId = exchange.getRequestHeaders().getFirst(IDEMPOTENCY_KEY);
      if (requestId == null && !method.equals("GET")) {
        requestId = UUID.randomUUID().toString();
      }
      if (requestId != null) {
        exchange.getResponseHeaders().set(IDEMPOTENCY_KEY, requestId);
      }
      return route.handler().handle(new Request(method, path, params, query(exchange.getRequestURI().getRawQuery()), body,
          contentType == null ? "" : contentType, requestId));
    }
    if (pathMatched) {
      return error(405, method + " is not allowed on " + path, null);
    }
    return error(404, "no such endpoint: " + method + " " + path + "; the API lives under /api/v1", null);
  }

  private static byte[] readBody(InputStream in) throws IOException {
    byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
    if (body.length > MAX_BODY_BYTES) {
      throw new InvalidSpecException("body", "larger than " + MAX_BODY_BYTES + " bytes");
    }
    return body;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> query = new HashMap<>();
    if (raw == null || raw.isEmpty()) {
      return query;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      try {
        String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        query.put(key, value);
      } catch (IllegalArgumentException e) {
        throw new InvalidSpecException("query", "'" + pair + "' is not URL-encoded: " + e.getMessage());
      }
    }
    return query;
  }

  /**
   * Decodes the percent escapes of one path segment ({@code +} stays a plus: that is a query's
   * convention, not a path's).
   *
   * @throws InvalidSpecException if an escape is not two hex digits or the bytes are not UTF-8
   */
  static String decodeSegment(String raw) {
    if (raw.indexOf('%') < 0) {
      return raw;
    }
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c != '%') {
        bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
        continue;
      }
      int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
      int lo = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
      if (hi < 0 || lo < 0) {
        throw new InvalidSpecException("path", "'" + raw + "' has a bad escape at " + i + ": a % must be followed by two hex digits (%25 for %)");
      }
      bytes.write(hi * 16 + lo);
      i += 2;
    }
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes.toByteArray())).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new InvalidSpecException("path", "'" + raw + "' does not decode to UTF-8 text");
    }
  }

  Response error(int status, String message, String field) {
    ObjectNode body = mapper.createObjectNode();
    body.put("error", message);
    if (field != null) {
      body.put("field", field);
    }
    body.put("status", status);
    return new Response(status, body);
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
