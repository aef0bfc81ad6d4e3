package dev.worka.gateway.memory;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where memories are kept (docs/memory.md), read from the Gateway's environment: unset, the
 * embedded store (PostgreSQL full-text search, nothing to run besides the database); with {@code
 * MEM0_API_URL} (e.g. {@code https://api.mem0.ai}) and {@code MEM0_API_KEY}, mem0 through its REST
 * API; {@code MEM0_TIMEOUT} bounds each mem0 call (default 3s, 100ms to 30s). {@link #toString()}
 * shows no key.
 *
 * @param mem0 mem0's platform API, when configured
 */
public record MemorySettings(Optional<Mem0> mem0) {
  /** mem0's REST API at {@code baseUrl} (no trailing slash), authenticated by {@code apiKey}. */
  public record Mem0(String baseUrl, String apiKey, Duration timeout) {
    @Override
    public String toString() {
      return "Mem0[" + baseUrl + "]";
    }
  }

  /** The embedded store. */
  public static MemorySettings embedded() {
    return new MemorySettings(Optional.empty());
  }

  /**
   * Reads the settings from {@code env}, each problem added to {@code problems} (naming its
   * variable and what to set); {@link #embedded()} when there is one.
   */
  public static MemorySettings read(Map<String, String> env, List<String> problems) {
    String url = value(env, "MEM0_API_URL");
    String key = value(env, "MEM0_API_KEY");
    String timeout = value(env, "MEM0_TIMEOUT");
    if (url == null) {
      if (key != null) {
        problems.add(
            "MEM0_API_KEY is set but MEM0_API_URL is not: set MEM0_API_URL (e.g."
                + " https://api.mem0.ai) to keep memories in mem0, or unset the key to keep them"
                + " in PostgreSQL");
      }
      return embedded();
    }
    int before = problems.size();
    String base = url.replaceAll("/+$", "");
    if (!isHttpUrl(base)) {
      problems.add(
          "MEM0_API_URL="
              + base
              + " is not an http(s) URL without user information, such as https://api.mem0.ai");
    }
    if (key == null) {
      problems.add(
          "MEM0_API_URL is set but MEM0_API_KEY is not: set it to the API key of your mem0"
              + " project (sent as Authorization: Token <key>)");
    }
    Duration limit = Duration.ofSeconds(3);
    if (timeout != null) {
      limit = parseTimeout(timeout);
      if (limit == null) {
        problems.add(
            "MEM0_TIMEOUT="
                + timeout
                + " must be a duration from 100ms to 30s, in ms or s (e.g. 3s, 500ms)");
      }
    }
    if (problems.size() > before) {
      return embedded();
    }
    return new MemorySettings(Optional.of(new Mem0(base, key, limit)));
  }

  private static Duration parseTimeout(String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]{1,6})(ms|s)").matcher(text);
    if (!m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
    Duration d = m.group(2).equals("ms") ? Duration.ofMillis(n) : Duration.ofSeconds(n);
    return d.compareTo(Duration.ofMillis(100)) < 0 || d.compareTo(Duration.ofSeconds(30)) > 0
        ? null
        : d;
  }

  private static boolean isHttpUrl(String s) {
    try {
      URI uri = URI.create(s);
      return ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
          && uri.getHost() != null
          && uri.getUserInfo() == null
          && uri.getQuery() == null
          && uri.getFragment() == null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String value(Map<String, String> env, String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? null : v.trim();
  }

  @Override
  public String toString() {
    return mem0.map(m -> "MemorySettings[" + m + "]").orElse("MemorySettings[postgres]");
  }
}
