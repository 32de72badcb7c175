package dev.hive.core.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.hive.core.http.ApiServer.Incoming;
import dev.hive.core.http.ApiServer.Reply;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;

/**
 * The API on the JDK's HTTP server, as Hive served it before Jetty: kept only so that the REST
 * benchmark can compare the two in one run ({@code hive.api.server=jdk}). It reads a body on a pool
 * thread, so a client that stalls mid-body holds that thread.
 */
final class JdkFront implements ApiServer.Front {
  private final HttpServer server;

  private JdkFront(HttpServer server) {
    this.server = server;
  }

  static JdkFront start(ApiServer api, String host, int port, ExecutorService pool) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 64);
    server.setExecutor(pool);
    server.createContext("/", exchange -> serve(api, exchange));
    server.start();
    return new JdkFront(server);
  }

  private static void serve(ApiServer api, HttpExchange exchange) throws IOException {
    Incoming in = new Incoming(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(), exchange.getRequestURI().getRawQuery(),
        name -> exchange.getRequestHeaders().getFirst(name), exchange.getRemoteAddress(), exchange.getLocalAddress());
    byte[] body = exchange.getRequestBody().readNBytes(ApiServer.MAX_BODY_BYTES + 1);
    Reply reply = api.serve(in, body, body.length > ApiServer.MAX_BODY_BYTES);
    exchange.getResponseHeaders().set("Content-Type", reply.contentType());
    reply.headers().forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
    exchange.sendResponseHeaders(reply.status(), reply.bytes().length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(reply.bytes());
    }
  }

  @Override
  public InetSocketAddress address() {
    return server.getAddress();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
