package dev.hive.core.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;
import dev.hive.api.OutcomeUnknownException;
import dev.hive.api.UnavailableException;
import dev.hive.api.WriteOptions;
import dev.hive.core.node.LocalCluster;
import java.io.IOException;
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
 * The REST API: JSON in and out, errors as {@code {"error", "field",
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

  /**
   * @param role the role a caller needs: read, operate or admin; {@link #OPEN} for none
   */
  private record Route(String method, Pattern pattern, List<String> names, String role, Handler handler) {}

  /** The role of a route anyone who reaches the API may call. */
  static final String OPEN = "";

  /**
   * Who may call the API and under which names.
   *
   * @param allowedHosts names besides IP literals and {@code localhost} that requests may carry as Host
   * @param trustLocalOwner whether a loopback caller running as the daemon's user or root acts as admin
   * @param openHealth whether {@code /health} answers without a token
   * @param openMetrics whether {@code /metrics} answers without a token
   */
  public record Security(java.util.Set<String> allowedHosts, boolean trustLocalOwner, boolean openHealth, boolean openMetrics) {
    public Security {
      allowedHosts = java.util.Set.copyOf(allowedHosts);
    }
  }

  /**
   * One request as a front end read it, before its body: what the checks and routes need.
   *
   * @param header looks a header up by name (case-insensitive), null when absent
   */
  record Incoming(String method, String rawPath, String rawQuery, java.util.function.Function<String, String> header,
      InetSocketAddress remote, InetSocketAddress local) {}

  /** An answer with its bytes and the headers it adds. */
  record Reply(int status, String contentType, byte[] bytes, Map<String, String> headers) {}

  /**
   * The API's key and certificate chain (its certificate first) when it serves HTTPS.
   *
   * @param urlHost the host its URL names: the node's advertised address when it binds every address
   */
  public record Tls(java.security.PrivateKey key, List<java.security.cert.X509Certificate> chain, String urlHost) {
    public Tls {
      chain = List.copyOf(chain);
    }
  }

  /** The HTTP server that carries the API. */
  interface Front extends AutoCloseable {
    /** The address it listens on. */
    InetSocketAddress address();

    @Override
    void close();
  }

  private final ExecutorService pool;
  private final BrowserGuard browserGuard;
  private final Security security;
  /** The response header giving the log index a read reflects. */
  static final String STATE_INDEX = "X-Hive-Index";

  private final LocalCluster cluster;
  private final java.util.OptionalInt ownUid = dev.hive.core.security.PeerCredentials.ownUid();
  private final ObjectMapper mapper = new ObjectMapper();
  private final List<Route> routes = new ArrayList<>();
  private volatile Front front;
  private final Tls tls;

  private ApiServer(ExecutorService pool, LocalCluster cluster, Security security, Tls tls) {
    this.pool = pool;
    this.tls = tls;
    this.cluster = cluster;
    this.security = security;
    this.browserGuard = new BrowserGuard(security.allowedHosts());
  }

  /**
   * Starts the API for {@code cluster} on {@code host}:{@code port} (0 for any free port), on
   * Jetty; {@code jdk} serves it on the JDK's HTTP server instead, which only the benchmark that
   * compares the two uses.
   *
   * @param security who may call it and under which names
   * @param tls the key and certificate to serve HTTPS with, or null for plain HTTP (on loopback)
   * @throws UnavailableException if the port cannot be bound
   */
  public static ApiServer start(LocalCluster cluster, String host, int port, Security security, boolean jdk, Tls tls) {
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
    ApiServer api = new ApiServer(pool, cluster, security, tls);
    new ApiRoutes(cluster, api.mapper).register(api);
    new ServiceRoutes(cluster, api.mapper).register(api);
    new MetricsRoutes(cluster, api.mapper).register(api);
    new TransferRoutes(cluster, api.mapper).register(api);
    new VmRoutes(cluster, api.mapper).register(api);
    new TokenRoutes(cluster, api.mapper).register(api);
    try {
      if (jdk && tls != null) {
        throw new IOException("the JDK's server serves no HTTPS here; use the default server");
      }
      api.front = jdk ? JdkFront.start(api, host, port, pool) : JettyFront.start(api, host, port, pool, tls);
    } catch (IOException e) {
      pool.shutdownNow();
      throw new UnavailableException("cannot serve the REST API on " + host + ":" + port + ": " + e.getMessage()
          + "; is another daemon running? choose another port with --http-port", e);
    }
    return api;
  }

  /**
   * Registers a route that reading needs the {@code read} role for and writing {@code operate};
   * {@code template} names path parameters as {@code {name}}.
   */
  void route(String method, String template, Handler handler) {
    route(method, template, method.equals("GET") ? "read" : "operate", handler);
  }

  Security security() {
    return security;
  }

  /** Registers a route that needs {@code role} (read, operate, admin, or {@link #OPEN}). */
  void route(String method, String template, String role, Handler handler) {
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
    routes.add(new Route(method, Pattern.compile(regex.toString()), names, role, handler));
  }

  /** Returns the base URL, e.g. {@code http://127.0.0.1:3000}. */
  public String url() {
    InetSocketAddress address = front.address();
    if (tls == null) {
      return "http://" + address.getHostString() + ":" + address.getPort();
    }
    String host = address.getAddress() != null && address.getAddress().isAnyLocalAddress() ? tls.urlHost() : address.getHostString();
    return "https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
  }

  /**
   * Answers a request whose body has been read (at most {@link #MAX_BODY_BYTES}; {@code tooLarge}
   * when it had more). Never throws: every failure is an answer.
   */
  Reply serve(Incoming in, byte[] body, boolean tooLarge) {
    Map<String, String> headers = new java.util.LinkedHashMap<>();
    Response response;
    try {
      response = tooLarge ? error(413, "the body is larger than " + MAX_BODY_BYTES + " bytes", "body") : dispatch(in, body, headers);
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
      log.error("API request {} {} failed", in.method(), in.rawPath(), e);
      response = error(500, "internal error: " + e, null);
    }
    if (response.status() == 401) {
      headers.put("WWW-Authenticate", "Bearer realm=\"hive\"");
    }
    byte[] bytes;
    try {
      bytes = response.raw() != null ? response.raw() : mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(response.body());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always encodes", e);
    }
    return new Reply(response.status(), response.contentType(), bytes, headers);
  }

  private Response dispatch(Incoming in, byte[] body, Map<String, String> replyHeaders) {
    java.util.Optional<BrowserGuard.Refusal> refusal =
        browserGuard.check(in.header().apply("Host"), in.header().apply("Origin"), in.header().apply("Content-Type"), body.length > 0);
    if (refusal.isPresent()) {
      return error(refusal.get().status(), refusal.get().reason(), refusal.get().field());
    }
    // Routes match the raw path and each parameter is decoded once: decoding the whole path first
    // turned %2F into a separator, and decoding again turned %252F into one.
    String path = in.rawPath();
    if (path.length() > 1 && path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    String method = in.method();
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
      java.util.Optional<Response> denied = authorize(in, route.role());
      if (denied.isPresent()) {
        return denied.get();
      }
      Map<String, String> params = new HashMap<>();
      for (int i = 0; i < route.names().size(); i++) {
        params.put(route.names().get(i), decodeSegment(m.group(i + 1)));
      }
      String contentType = in.header().apply("Content-Type");
      // Every write has a request id: the caller's Idempotency-Key, or one given here and
      // returned in that header, so that a write whose outcome is unknown can be asked about.
      String requestId = in.header().apply(IDEMPOTENCY_KEY);
      if (requestId == null && !method.equals("GET")) {
        requestId = UUID.randomUUID().toString();
      }
      if (requestId != null) {
        replyHeaders.put(IDEMPOTENCY_KEY, requestId);
      }
      Map<String, String> query = query(in.rawQuery());
      if (method.equals("GET")) {
        if (consistentRead(query)) {
          cluster.awaitCurrentState();
        }
        // As Consul's X-Consul-Index: the log index the answer's state reflects, taken before the
        // read, so that the state read is at least this new (a client's copy may trail the
        // leader's), and after a consistent read's wait, which may move it on.
        replyHeaders.put(STATE_INDEX, Long.toString(cluster.stateIndex()));
      }
      return route.handler().handle(new Request(method, path, params, query, body, contentType == null ? "" : contentType, requestId));
    }
    if (pathMatched) {
      return error(405, method + " is not allowed on " + path, null);
    }
    return error(404, "no such endpoint: " + method + " " + path + "; the API lives under /api/v1", null);
  }

  /** With {@code ?consistent=true}, a read waits until this node holds every write committed before it (a linearizable read). */
  private static boolean consistentRead(Map<String, String> query) {
    String consistent = query.getOrDefault("consistent", "false");
    if (!consistent.equals("true") && !consistent.equals("false")) {
      throw new InvalidSpecException("consistent", "'" + consistent + "' is not true or false");
    }
    return consistent.equals("true");
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

  /**
   * Returns why a caller may not use a route that needs {@code role}, or empty when it may: a valid
   * bearer token with that role, or no token from the machine's owner on loopback.
   */
  private java.util.Optional<Response> authorize(Incoming in, String role) {
    if (role.equals(OPEN)) {
      return java.util.Optional.empty();
    }
    String authorization = in.header().apply("Authorization");
    if (authorization == null) {
      if (security.trustLocalOwner() && isLocalOwner(in)) {
        return java.util.Optional.empty();
      }
      return java.util.Optional.of(error(401, "this API needs a token: send Authorization: Bearer TOKEN (`hive token create` makes one; "
          + "the cluster's first admin token is in its first node's data dir, file " + dev.hive.core.security.ApiTokens.BOOTSTRAP_FILE + ")",
          "Authorization"));
    }
    String[] parts = authorization.trim().split("\\s+", 2);
    if (parts.length != 2 || !parts[0].equalsIgnoreCase("Bearer")) {
      return java.util.Optional.of(error(401, "expected Authorization: Bearer TOKEN", "Authorization"));
    }
    java.util.Optional<dev.hive.core.state.TokenRecord> token = cluster.apiToken(parts[1].trim());
    if (token.isEmpty()) {
      // Never echo what was sent: it may be a secret meant for something else.
      return java.util.Optional.of(error(401, "the token is not valid here: unknown, revoked or expired", "Authorization"));
    }
    if (!token.get().allows(role)) {
      return java.util.Optional.of(error(403, "token '" + token.get().name() + "' has the role " + token.get().role() + "; this needs "
          + role, "Authorization"));
    }
    return java.util.Optional.empty();
  }

  /**
   * A loopback caller running as the daemon's own user or as root can already read the data dir
   * and its admin token, as a user who can open Docker's socket is its owner: it needs no token.
   */
  private boolean isLocalOwner(Incoming in) {
    java.util.OptionalInt uid = dev.hive.core.security.PeerCredentials.uidOf(in.remote(), in.local());
    return uid.isPresent() && (uid.getAsInt() == 0 || (ownUid.isPresent() && uid.getAsInt() == ownUid.getAsInt()));
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
    front.close();
    pool.shutdownNow();
  }
}
