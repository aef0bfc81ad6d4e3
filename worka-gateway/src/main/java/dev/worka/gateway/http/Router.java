package dev.worka.gateway.http;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Matches {@code METHOD /path/{var}/...} patterns. A trailing {@code {var*}} matches the rest of
 * the path. Patterns are matched in the order they were added. Each route has an {@link Exposure}:
 * {@link #add} makes it {@link Exposure#PRIVATE} (never on the ingress port), {@link #addPublic}
 * and {@link #addEverywhere} say otherwise; a route not served on the listener a request came in on
 * does not exist there ({@code 404}).
 */
public final class Router {
  @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: a route's parts, matched
  record Entry(
      String method,
      String pattern,
      String[] segments,
      Route route,
      long maxBodyBytes,
      Exposure exposure) {}

  record Match(Route route, Map<String, String> variables, long maxBodyBytes) {}

  private final List<Entry> entries = new ArrayList<>();

  /** Adds a {@link Exposure#PRIVATE} route whose body may be at most {@code maxBodyBytes}. */
  public Router add(String method, String pattern, long maxBodyBytes, Route route) {
    return add(Exposure.PRIVATE, method, pattern, maxBodyBytes, route);
  }

  /** Adds a {@link Exposure#PRIVATE} route with a body of at most 64 KiB. */
  public Router add(String method, String pattern, Route route) {
    return add(method, pattern, 64 * 1024, route);
  }

  /**
   * Adds a {@link Exposure#PUBLIC} route: one the internet must reach (a webhook), served on the
   * ingress port when there is one.
   */
  public Router addPublic(String method, String pattern, long maxBodyBytes, Route route) {
    return add(Exposure.PUBLIC, method, pattern, maxBodyBytes, route);
  }

  /** Adds a route served on every port (liveness). */
  public Router addEverywhere(String method, String pattern, Route route) {
    return add(Exposure.EVERYWHERE, method, pattern, 64 * 1024, route);
  }

  private Router add(
      Exposure exposure, String method, String pattern, long maxBodyBytes, Route route) {
    entries.add(new Entry(method, pattern, split(pattern), route, maxBodyBytes, exposure));
    return this;
  }

  /** {@code METHOD pattern} of every route served on {@code listener}, in the order added. */
  List<String> served(Exposure.Listener listener) {
    return entries.stream()
        .filter(e -> e.exposure().servedOn(listener))
        .map(e -> e.method() + " " + e.pattern())
        .toList();
  }

  /** {@code METHOD pattern} of every route, whatever its exposure, in the order added. */
  public List<String> routes() {
    return entries.stream().map(e -> e.method() + " " + e.pattern()).toList();
  }

  /** {@code METHOD pattern} of every route of {@code exposure}, in the order added. */
  List<String> withExposure(Exposure exposure) {
    return entries.stream()
        .filter(e -> e.exposure() == exposure)
        .map(e -> e.method() + " " + e.pattern())
        .toList();
  }

  /** The route for this method and path on any listener (one port); see the other overload. */
  Optional<Match> match(String method, String path, boolean[] pathKnown) {
    return match(method, path, pathKnown, Exposure.Listener.ONLY);
  }

  /**
   * The route for this method and path among those served on {@code listener}; empty if none; a
   * path known there with other methods is 405.
   */
  Optional<Match> match(
      String method, String path, boolean[] pathKnown, Exposure.Listener listener) {
    String[] parts = split(path);
    for (Entry e : entries) {
      if (!e.exposure().servedOn(listener)) {
        continue;
      }
      Map<String, String> vars = matchSegments(e.segments(), parts);
      if (vars != null) {
        pathKnown[0] = true;
        if (e.method().equals(method)) {
          return Optional.of(new Match(e.route(), vars, e.maxBodyBytes()));
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Answers {@code request} with the route for its method and {@code path} — one served on the main
   * port, never a {@link Exposure#PUBLIC} one — as if it had been sent there with {@code
   * authorization} as its credential. The console uses it to serve the operator API to a signed-in
   * browser without a second copy of each route.
   *
   * @throws ApiException 404 when no such route is served
   */
  public ApiResponse forward(ApiRequest request, String path, String authorization)
      throws Exception {
    boolean[] known = new boolean[1];
    Match m =
        match(request.method(), path, known, Exposure.Listener.MAIN)
            .orElseThrow(
                () ->
                    new ApiException(
                        known[0] ? 405 : 404,
                        known[0]
                            ? dev.worka.protocol.ErrorCodes.METHOD_NOT_ALLOWED
                            : dev.worka.protocol.ErrorCodes.NOT_FOUND,
                        "no such endpoint: " + request.method() + " " + path));
    return m.route().handle(request.forwarded(m.variables(), m.maxBodyBytes(), authorization));
  }

  private static Map<String, String> matchSegments(String[] pattern, String[] parts) {
    Map<String, String> vars = new HashMap<>();
    for (int i = 0; i < pattern.length; i++) {
      String p = pattern[i];
      if (p.startsWith("{") && p.endsWith("*}")) {
        vars.put(
            p.substring(1, p.length() - 2),
            String.join(
                "/", java.util.Arrays.copyOfRange(parts, Math.min(i, parts.length), parts.length)));
        return vars;
      }
      if (i >= parts.length) {
        return null;
      }
      if (p.startsWith("{") && p.endsWith("}")) {
        vars.put(p.substring(1, p.length() - 1), parts[i]);
      } else if (!p.equals(parts[i])) {
        return null;
      }
    }
    return pattern.length == parts.length ? vars : null;
  }

  private static String[] split(String path) {
    String trimmed = path.replaceAll("^/+|/+$", "");
    return trimmed.isEmpty() ? new String[0] : trimmed.split("/+");
  }
}
