package dev.hive.core.http;

import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Refuses what a web page in a browser on this host could make the browser send: a request to a
 * name that is not the API's (DNS rebinding: {@code evil.example} resolved to 127.0.0.1), a request
 * from another origin (CSRF), and a body whose type a form can send without a preflight. Programs
 * (curl, the CLI) send a Host that is the address they dialled and no Origin, so they pass.
 */
final class BrowserGuard {
  /** The content types a write body may have: JSON, and YAML for manifests. */
  static final Set<String> BODY_TYPES = Set.of("application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml");

  private final Set<String> allowedHosts;

  /**
   * @param allowedHosts names besides IP literals and {@code localhost} under which the API may be
   *     reached: the host's own names and what {@code hive.api.allowed-hosts} adds
   */
  BrowserGuard(Set<String> allowedHosts) {
    Set<String> hosts = new TreeSet<>();
    allowedHosts.forEach(h -> hosts.add(h.toLowerCase(Locale.ROOT)));
    hosts.add("localhost");
    this.allowedHosts = Set.copyOf(hosts);
  }

  /**
   * Returns why a request must be refused, or empty when it may go on.
   *
   * @param host the {@code Host} header, or null
   * @param origin the {@code Origin} header, or null
   * @param contentType the {@code Content-Type} header, or null
   * @param hasBody whether the request carries a body
   */
  Optional<Refusal> check(String host, String origin, String contentType, boolean hasBody) {
    if (host != null && !hostAllowed(hostName(host))) {
      return Optional.of(new Refusal(403, "Host", "'" + host + "' is not a name of this API; reach it by its address, or add the name to the "
          + "setting hive.api.allowed-hosts"));
    }
    if (origin != null && !sameOrigin(origin, host)) {
      return Optional.of(new Refusal(403, "Origin", "requests from '" + origin + "' are refused: only pages served by this API may call it"));
    }
    if (hasBody) {
      String type = mediaType(contentType);
      if (!BODY_TYPES.contains(type)) {
        return Optional.of(new Refusal(415, "Content-Type", (contentType == null ? "missing" : "'" + contentType + "' is not accepted")
            + "; send the body with Content-Type: application/json (or application/yaml for a manifest)"));
      }
    }
    return Optional.empty();
  }

  /** Why a request was refused: its status, the header at fault and the reason. */
  record Refusal(int status, String field, String reason) {}

  /** Returns the media type of a Content-Type header without its parameters, lower case ("" for none). */
  static String mediaType(String contentType) {
    if (contentType == null) {
      return "";
    }
    int semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
  }

  private boolean hostAllowed(String name) {
    return isIpLiteral(name) || allowedHosts.contains(name);
  }

  /** The name of a Host header without its port, lower case; an IPv6 literal keeps its brackets off. */
  static String hostName(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int close = h.indexOf(']');
      return close < 0 ? h : h.substring(1, close);
    }
    int colon = h.lastIndexOf(':');
    return colon < 0 ? h : h.substring(0, colon);
  }

  /**
   * An address typed as digits cannot be rebound: a page only gets that origin by being served from
   * it. Only dotted IPv4 and IPv6 literals count, so a name such as {@code 1.2.3.4.evil.example} is
   * a name.
   */
  static boolean isIpLiteral(String name) {
    if (name.contains(":")) {
      return name.matches("[0-9a-f:.]+");
    }
    String[] parts = name.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String part : parts) {
      if (!part.matches("[0-9]{1,3}") || Integer.parseInt(part) > 255) {
        return false;
      }
    }
    return true;
  }

  /** A page served by the API itself sends its own scheme, name and port as Origin. */
  private static boolean sameOrigin(String origin, String host) {
    if (host == null) {
      return false;
    }
    String o = origin.trim().toLowerCase(Locale.ROOT);
    String h = host.trim().toLowerCase(Locale.ROOT);
    return o.equals("http://" + h) || o.equals("https://" + h);
  }
}
