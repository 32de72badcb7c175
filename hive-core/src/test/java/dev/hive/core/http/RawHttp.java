package dev.hive.core.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for the requests the JDK's client will not send: any Host header,
 * any Origin, a malformed path. One request per connection.
 */
final class RawHttp {
  private RawHttp() {}

  /** A status, the headers (names lower case) and the body as text. */
  record Answer(int status, Map<String, String> headers, String body) {}

  static Answer send(String apiUrl, String method, String rawPath, Map<String, String> headers, byte[] body) throws IOException {
    URI uri = URI.create(apiUrl);
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
      socket.setSoTimeout(30_000);
      StringBuilder head = new StringBuilder(method + " " + rawPath + " HTTP/1.1\r\n");
      Map<String, String> all = new LinkedHashMap<>();
      all.put("Host", uri.getHost() + ":" + uri.getPort());
      all.putAll(headers);
      all.put("Content-Length", Integer.toString(body.length));
      all.put("Connection", "close");
      all.forEach((k, v) -> {
        if (v != null) {
          head.append(k).append(": ").append(v).append("\r\n");
        }
      });
      head.append("\r\n");
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      return read(socket.getInputStream());
    }
  }

  static Answer send(String apiUrl, String method, String rawPath, Map<String, String> headers, String body) throws IOException {
    return send(apiUrl, method, rawPath, headers, body.getBytes(StandardCharsets.UTF_8));
  }

  private static Answer read(InputStream in) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    in.transferTo(all);
    String text = all.toString(StandardCharsets.UTF_8);
    int end = text.indexOf("\r\n\r\n");
    String[] lines = text.substring(0, end).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    String body = text.substring(end + 4);
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      body = dechunk(body);
    }
    return new Answer(status, headers, body);
  }

  private static String dechunk(String chunked) {
    StringBuilder body = new StringBuilder();
    int at = 0;
    while (true) {
      int eol = chunked.indexOf("\r\n", at);
      int size = Integer.parseInt(chunked.substring(at, eol).split(";")[0].trim(), 16);
      if (size == 0) {
        return body.toString();
      }
      body.append(chunked, eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }
}
