package dev.hive.core.http;

import dev.hive.core.http.ApiServer.Incoming;
import dev.hive.core.http.ApiServer.Reply;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import java.security.KeyStore;
import java.security.cert.Certificate;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The API on Jetty. A request's body is read without a thread (Jetty calls back as bytes come), and
 * only a whole request goes to the API's pool: a client that sends headers and then stalls holds a
 * connection until the idle timeout, never a thread, so it cannot delay {@code /health}.
 */
final class JettyFront implements ApiServer.Front {
  /** A connection that sends nothing for this long is closed. */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
  /** Open connections beyond this wait in the kernel's backlog until one closes. */
  static final int MAX_CONNECTIONS = 1_000;
  static final int MAX_HEADER_BYTES = 16 * 1024;

  private final Server server;
  private final ServerConnector connector;

  private JettyFront(Server server, ServerConnector connector) {
    this.server = server;
    this.connector = connector;
  }

  static JettyFront start(ApiServer api, String host, int port, ExecutorService pool, ApiServer.Tls tls) throws IOException {
    QueuedThreadPool threads = new QueuedThreadPool(16, 2);
    threads.setName("hive-api-io");
    threads.setDaemon(true);
    Server server = new Server(threads);
    HttpConfiguration config = new HttpConfiguration();
    config.setSendServerVersion(false);
    config.setRequestHeaderSize(MAX_HEADER_BYTES);
    ServerConnector connector = tls == null
        ? new ServerConnector(server, 1, 1, new HttpConnectionFactory(config))
        : new ServerConnector(server, 1, 1, new SslConnectionFactory(sslContext(tls), "http/1.1"), new HttpConnectionFactory(https(config)));
    connector.setHost(host);
    connector.setPort(port);
    connector.setIdleTimeout(IDLE_TIMEOUT.toMillis());
    server.addConnector(connector);
    server.addBean(new NetworkConnectionLimit(MAX_CONNECTIONS, connector));
    server.setErrorHandler(new JsonErrors());
    server.setHandler(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        Incoming in = new Incoming(request.getMethod(), request.getHttpURI().getPath(), request.getHttpURI().getQuery(),
            name -> request.getHeaders().get(name), address(request.getConnectionMetaData().getRemoteSocketAddress()),
            address(request.getConnectionMetaData().getLocalSocketAddress()));
        if (request.getLength() > ApiServer.MAX_BODY_BYTES) {
          write(response, api.serve(in, new byte[0], true), callback);
          return true;
        }
        Content.Source.asByteArrayAsync(request, ApiServer.MAX_BODY_BYTES + 1).whenComplete((body, failure) -> {
          if (failure != null) {
            // The client went away or stalled past the idle timeout: nothing to answer.
            callback.failed(failure);
            return;
          }
          try {
            pool.execute(() -> write(response, api.serve(in, body, body.length > ApiServer.MAX_BODY_BYTES), callback));
          } catch (RejectedExecutionException e) {
            callback.failed(e);
          }
        });
        return true;
      }
    });
    try {
      server.start();
    } catch (IOException e) {
      stopQuietly(server);
      throw e;
    } catch (Exception e) {
      stopQuietly(server);
      throw new IOException(e.getMessage(), e);
    }
    return new JettyFront(server, connector);
  }

  /**
   * What Jetty refuses before the API sees it (an ambiguous path such as {@code %2F}, headers too
   * large) is answered in the API's JSON error shape, not as an HTML page.
   */
  private static final class JsonErrors extends ErrorHandler {
    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback)
        throws IOException {
      com.fasterxml.jackson.databind.node.ObjectNode body = MAPPER.createObjectNode();
      body.put("error", (message == null ? "HTTP " + code : message) + (code == 400 ? ": " + request.getHttpURI().getPath() : ""));
      if (code == 400) {
        body.put("field", "path");
      }
      body.put("status", code);
      response.getHeaders().put("Content-Type", "application/json");
      response.write(true, ByteBuffer.wrap(MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(body)), callback);
    }
  }

  /** HTTPS only, TLS 1.2 or 1.3 (browsers and curl), with the node's key and chain. */
  private static SslContextFactory.Server sslContext(ApiServer.Tls tls) throws IOException {
    try {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      // The store lives in memory only: its password guards nothing on disk.
      char[] password = java.util.UUID.randomUUID().toString().toCharArray();
      keys.setKeyEntry("api", tls.key(), password, tls.chain().toArray(new Certificate[0]));
      SslContextFactory.Server ssl = new SslContextFactory.Server();
      ssl.setKeyStore(keys);
      ssl.setKeyStorePassword(new String(password));
      ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
      return ssl;
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot use the API's key and certificate: " + e.getMessage(), e);
    }
  }

  private static HttpConfiguration https(HttpConfiguration plain) {
    HttpConfiguration https = new HttpConfiguration(plain);
    SecureRequestCustomizer secure = new SecureRequestCustomizer();
    // Clients reach a node by its address, without SNI; the API checks Host itself (BrowserGuard).
    secure.setSniHostCheck(false);
    https.addCustomizer(secure);
    return https;
  }

  private static InetSocketAddress address(java.net.SocketAddress address) {
    return address instanceof InetSocketAddress inet ? inet : null;
  }

  private static void write(Response response, Reply reply, Callback callback) {
    response.setStatus(reply.status());
    response.getHeaders().put("Content-Type", reply.contentType());
    reply.headers().forEach((k, v) -> response.getHeaders().put(k, v));
    response.write(true, ByteBuffer.wrap(reply.bytes()), callback);
  }

  private static void stopQuietly(Server server) {
    try {
      server.stop();
    } catch (Exception e) {
      // Stopping what did not start: nothing more to release.
    }
  }

  @Override
  public InetSocketAddress address() {
    String host = connector.getHost() == null ? "0.0.0.0" : connector.getHost();
    return new InetSocketAddress(host, connector.getLocalPort());
  }

  @Override
  public void close() {
    stopQuietly(server);
  }
}
