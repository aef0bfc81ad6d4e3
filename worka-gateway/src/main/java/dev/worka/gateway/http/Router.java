package dev.worka.gateway.http;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Matches {@code METHOD /path/{var}/...} patterns. A trailing {@code {var*}} matches the rest of
 * the path. Patterns are matched in the order they were added.
 */
public final class Router {
  record Entry(String method, String[] segments, Route route, long maxBodyBytes) {}

  record Match(Route route, Map<String, String> variables, long maxBodyBytes) {}

  private final List<Entry> entries = new ArrayList<>();

  /** Adds a route whose body may be at most {@code maxBodyBytes}. */
  public Router add(String method, String pattern, long maxBodyBytes, Route route) {
    entries.add(new Entry(method, split(pattern), route, maxBodyBytes));
    return this;
  }

  public Router add(String method, String pattern, Route route) {
    return add(method, pattern, 64 * 1024, route);
  }

  /** The route for this method and path; empty if none; a path known with other methods is 405. */
  Optional<Match> match(String method, String path, boolean[] pathKnown) {
    String[] parts = split(path);
    for (Entry e : entries) {
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

  private static Map<String, String> matchSegments(String[] pattern, String[] parts) {
    Map<String, String> vars = new HashMap<>();
    for (int i = 0; i < pattern.length; i++) {
      String p = pattern[i];
      if (p.startsWith("{") && p.endsWith("*}")) {
        vars.put(p.substring(1, p.length() - 2), String.join("/", java.util.Arrays.copyOfRange(parts, Math.min(i, parts.length), parts.length)));
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
