package dev.worka.gateway.agent;

import dev.worka.gateway.http.ApiRequest;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The names this Gateway is reached by, for the {@code Host} and {@code Origin} checks of {@code
 * /v1/agent/mcp} (the MCP transport's defence against DNS rebinding: a web page whose own host name
 * an attacker has pointed at the Gateway's address sends that name, never one of these).
 *
 * <p>Own, at the port the request arrived on: the loopback names ({@code localhost}, any {@code
 * 127.x.x.x}, {@code ::1}), the bind address ({@code WORKA_BIND_ADDRESS}) and the address the
 * connection reached (an IP literal; it names this host, whatever the bind address). Own at its own
 * port: the host of each URL workers are given ({@code WORKA_GATEWAY_URL}, {@code
 * WORKA_KUBERNETES_GATEWAY_URL}: a proxy or a Kubernetes service may put another port in front of
 * the Gateway's). Nothing here resolves a name: a host is compared as written, an IP literal by its
 * address.
 */
public final class GatewayNames {
  private static final Pattern IPV4 =
      Pattern.compile(
          "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-f:.]+(%[0-9a-z_.\\-]+)?");
  private static final Set<String> WILDCARDS = Set.of("0.0.0.0", "::", "0:0:0:0:0:0:0:0");

  private final Optional<String> bindHost;
  private final List<WorkerUrl> workerUrls;

  /** The host (normalized), port and scheme of a URL workers are given. */
  private record WorkerUrl(String host, int port, String scheme) {}

  /**
   * @param bindAddress the address the HTTP server listens on ({@code WORKA_BIND_ADDRESS})
   * @param gatewayUrl {@code WORKA_GATEWAY_URL}, when set
   */
  public GatewayNames(String bindAddress, Optional<String> gatewayUrl) {
    this(bindAddress, gatewayUrl == null ? List.of() : gatewayUrl.stream().toList());
  }

  /**
   * @param bindAddress the address the HTTP server listens on ({@code WORKA_BIND_ADDRESS})
   * @param workerUrls the URLs workers are given for the Gateway: {@code WORKA_GATEWAY_URL} and
   *     {@code WORKA_KUBERNETES_GATEWAY_URL}, those that are set
   */
  public GatewayNames(String bindAddress, List<String> workerUrls) {
    String bind = bindAddress == null ? null : normalize(bindAddress);
    this.bindHost =
        bind == null || bind.isEmpty() || WILDCARDS.contains(bind)
            ? Optional.empty()
            : Optional.of(bind);
    List<WorkerUrl> urls = new ArrayList<>();
    for (String url : workerUrls) {
      URI uri = URI.create(url);
      if (uri.getHost() != null) {
        String scheme = uri.getScheme() == null ? "http" : uri.getScheme().toLowerCase(Locale.ROOT);
        urls.add(
            new WorkerUrl(
                normalize(uri.getHost()),
                uri.getPort() != -1 ? uri.getPort() : defaultPort(scheme),
                scheme));
      }
    }
    this.workerUrls = List.copyOf(urls);
  }

  /** Why the request's {@code Host} is not one of this Gateway's names, or empty if it is. */
  Optional<String> foreignHost(ApiRequest request) {
    String host = request.header("Host");
    if (host == null || host.isBlank()) {
      return Optional.of("the request has no Host header");
    }
    Authority a = Authority.parse(null, host.trim(), 80);
    if (a == null || !own(a, request)) {
      return Optional.of("Host " + clip(host) + " is not a name of this Gateway");
    }
    return Optional.empty();
  }

  /** Why the request's {@code Origin}, when it has one, is not this Gateway's, or empty. */
  Optional<String> foreignOrigin(ApiRequest request) {
    String origin = request.header("Origin");
    if (origin == null) {
      return Optional.empty();
    }
    Authority a = null;
    try {
      URI uri = new URI(origin.trim());
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https"))
          && uri.getRawAuthority() != null
          && uri.getRawUserInfo() == null
          && (uri.getRawPath() == null || uri.getRawPath().isEmpty())) {
        a = Authority.parse(scheme, uri.getRawAuthority(), defaultPort(scheme));
      }
    } catch (java.net.URISyntaxException e) {
      a = null;
    }
    if (a == null || !own(a, request)) {
      return Optional.of("Origin " + clip(origin) + " is not this Gateway's");
    }
    return Optional.empty();
  }

  /**
   * Whether {@code a} names this Gateway: the Gateway URL's host and port (an origin: and scheme),
   * or at the port the request reached (an origin: over plain HTTP, which is all it serves) a
   * loopback name, the bind address or the address the connection reached.
   */
  private boolean own(Authority a, ApiRequest request) {
    for (WorkerUrl url : workerUrls) {
      if (url.host().equals(a.host())
          && a.port() == url.port()
          && (a.scheme() == null || a.scheme().equals(url.scheme()))) {
        return true;
      }
    }
    if (a.port() != request.localPort() || (a.scheme() != null && !a.scheme().equals("http"))) {
      return false;
    }
    if (a.host().equals("localhost") || isLoopbackLiteral(a.host())) {
      return true;
    }
    if (bindHost.isPresent() && bindHost.get().equals(a.host())) {
      return true;
    }
    String local = request.localAddress();
    return local != null && isLiteral(a.host()) && normalize(local).equals(a.host());
  }

  /**
   * A host as compared: lower case, no brackets or trailing dot, an IP literal in its canonical
   * form.
   */
  static String normalize(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    if (isLiteral(h)) {
      try {
        // A literal is parsed, never looked up.
        return InetAddress.getByName(h).getHostAddress().toLowerCase(Locale.ROOT);
      } catch (UnknownHostException e) {
        return h;
      }
    }
    return h;
  }

  private static boolean isLiteral(String host) {
    return IPV4.matcher(host).matches() || (host.contains(":") && IPV6.matcher(host).matches());
  }

  private static boolean isLoopbackLiteral(String host) {
    if (!isLiteral(host)) {
      return false;
    }
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static int defaultPort(String scheme) {
    return "https".equalsIgnoreCase(scheme) ? 443 : 80;
  }

  private static String clip(String s) {
    String printable = s.replaceAll("\\p{Cntrl}", "?");
    return printable.length() > 80 ? printable.substring(0, 80) + "…" : printable;
  }

  /** A host (normalized) and port, as a {@code Host} header (no scheme) or an origin names them. */
  private record Authority(String scheme, String host, int port) {
    static Authority parse(String scheme, String authority, int defaultPort) {
      String host;
      String port = null;
      if (authority.startsWith("[")) {
        int end = authority.indexOf(']');
        if (end < 0) {
          return null;
        }
        host = authority.substring(0, end + 1);
        String rest = authority.substring(end + 1);
        if (!rest.isEmpty()) {
          if (!rest.startsWith(":")) {
            return null;
          }
          port = rest.substring(1);
        }
      } else {
        int colon = authority.indexOf(':');
        if (colon != authority.lastIndexOf(':')) {
          return null; // an IPv6 literal must be bracketed
        }
        host = colon < 0 ? authority : authority.substring(0, colon);
        port = colon < 0 ? null : authority.substring(colon + 1);
      }
      if (host.isEmpty() || !host.matches("[A-Za-z0-9._\\-\\[\\]:%]+")) {
        return null;
      }
      int p = defaultPort;
      if (port != null) {
        if (!port.matches("\\d{1,5}")) {
          return null;
        }
        p = Integer.parseInt(port);
      }
      return new Authority(scheme, normalize(host), p);
    }
  }
}
