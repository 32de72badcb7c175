package dev.hive.examples.demo;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The small web workload the demo deploys, shipped inside hive.jar: answers every request with
 * its instance id on {@code $PORT}.
 */
public final class HelloServer {
  private HelloServer() {}

  public static void main(String[] args) throws IOException {
    String portText = System.getenv("PORT");
    if (portText == null) {
      System.err.println("HelloServer needs $PORT; Hive sets it for a declared port");
      System.exit(2);
    }
    String instance = System.getenv().getOrDefault("HIVE_INSTANCE", "unknown");
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(portText)), 16);
    server.createContext(
        "/",
        exchange -> {
          byte[] body = ("hello from " + instance + "\n").getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    System.out.println("HelloServer " + instance + " listening on 127.0.0.1:" + portText);
  }
}
