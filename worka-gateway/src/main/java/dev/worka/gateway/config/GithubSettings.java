package dev.worka.gateway.config;

import dev.worka.gateway.policy.DurationText;
import dev.worka.gateway.skill.github.GithubMcpEndpoint;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The GitHub connection (DESIGN §9). All unset means GitHub is off.
 *
 * <ul>
 *   <li>{@code GITHUB_MCP_URL} (an http(s) URL; wins when both are set) or {@code
 *       GITHUB_MCP_COMMAND} (an argv split on whitespace, no quoting; the server is started as a
 *       child over stdio and gets {@link #PASSED_TO_STDIO_SERVER} from the Gateway's environment,
 *       nothing else), with {@code GITHUB_TOKEN}: the MCP server the live {@code github.*} skills
 *       and the answers on GitHub go through.
 *   <li>{@code WORKA_SKILL_TIMEOUT} (e.g. {@code 30s}, 1 s to 10 min; default 30 s): how long a
 *       live GitHub call may take. It also bounds how long a call without a recorded outcome counts
 *       as still under way.
 *   <li>{@code GITHUB_WEBHOOK_SECRET}: GitHub's deliveries are accepted (verified with it); {@code
 *       WORKA_GITHUB_HANDLE} (default {@code worka}, a leading {@code @} dropped): the login a
 *       comment mentions to start a run.
 * </ul>
 *
 * Validated once, with messages naming the variable; {@link #toString()} shows no secret.
 *
 * @param mcp the MCP server, when {@code GITHUB_MCP_URL} or {@code GITHUB_MCP_COMMAND} is set
 * @param callTimeout {@code WORKA_SKILL_TIMEOUT}
 * @param webhook the webhook, when {@code GITHUB_WEBHOOK_SECRET} is set
 */
public record GithubSettings(
    Optional<GithubMcpEndpoint> mcp, Duration callTimeout, Optional<Webhook> webhook) {

  /** github-mcp-server's own settings a stdio child may receive from the Gateway environment. */
  public static final List<String> PASSED_TO_STDIO_SERVER =
      List.of("GITHUB_HOST", "GITHUB_TOOLSETS", "GITHUB_READ_ONLY");

  /** {@code WORKA_SKILL_TIMEOUT} when unset. */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);

  private static final Pattern HANDLE = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})");

  /**
   * GitHub's webhook deliveries: {@code secret} verifies them, a comment mentioning {@code @handle}
   * starts a run.
   */
  public record Webhook(String secret, String handle) {
    public Webhook {
      if (secret == null || secret.isBlank() || handle == null || handle.isBlank()) {
        throw new IllegalArgumentException("secret and handle are required");
      }
    }

    @Override
    public String toString() {
      return "Webhook[secret set, handle @" + handle + "]";
    }
  }

  public GithubSettings {
    if (mcp == null || callTimeout == null || webhook == null) {
      throw new IllegalArgumentException("mcp, callTimeout and webhook are required");
    }
  }

  /** GitHub off. */
  public static GithubSettings off() {
    return new GithubSettings(Optional.empty(), DEFAULT_CALL_TIMEOUT, Optional.empty());
  }

  /**
   * The settings in {@code environment}.
   *
   * @throws ConfigException naming each variable that is wrong and what to set instead
   */
  public static GithubSettings fromEnvironment(Map<String, String> environment) {
    List<String> problems = new ArrayList<>();
    GithubSettings settings = read(environment, problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return settings;
  }

  /** The settings in {@code environment}, each problem added to {@code problems}. */
  static GithubSettings read(Map<String, String> environment, List<String> problems) {
    return new GithubSettings(
        mcpFrom(environment, problems),
        callTimeoutFrom(environment, problems),
        webhookFrom(environment, problems));
  }

  private static Optional<GithubMcpEndpoint> mcpFrom(
      Map<String, String> environment, List<String> problems) {
    Optional<String> url = value(environment, "GITHUB_MCP_URL");
    Optional<String> command = value(environment, "GITHUB_MCP_COMMAND");
    String token = value(environment, "GITHUB_TOKEN").orElse(null);
    try {
      if (url.isPresent()) {
        URI uri;
        try {
          uri = URI.create(url.get());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("GITHUB_MCP_URL is not a URL");
        }
        return Optional.of(new GithubMcpEndpoint.Http(uri, token));
      }
      if (command.isPresent()) {
        Map<String, String> passed = new LinkedHashMap<>();
        for (String name : PASSED_TO_STDIO_SERVER) {
          value(environment, name).ifPresent(v -> passed.put(name, v));
        }
        return Optional.of(
            new GithubMcpEndpoint.Stdio(List.of(command.get().split("\\s+")), token, passed));
      }
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage()); // names the variable, never the token
    }
    return Optional.empty();
  }

  private static Duration callTimeoutFrom(Map<String, String> environment, List<String> problems) {
    Optional<String> text = value(environment, "WORKA_SKILL_TIMEOUT");
    if (text.isEmpty()) {
      return DEFAULT_CALL_TIMEOUT;
    }
    Optional<Duration> parsed = DurationText.parse(text.get());
    if (parsed.isEmpty()
        || parsed.get().compareTo(Duration.ofSeconds(1)) < 0
        || parsed.get().compareTo(Duration.ofMinutes(10)) > 0) {
      problems.add(
          "WORKA_SKILL_TIMEOUT=" + text.get() + " must be a duration from 1s to 10m, e.g. 30s");
      return DEFAULT_CALL_TIMEOUT;
    }
    return parsed.get();
  }

  private static Optional<Webhook> webhookFrom(
      Map<String, String> environment, List<String> problems) {
    String secret = environment.get("GITHUB_WEBHOOK_SECRET");
    if (secret == null || secret.isBlank()) {
      return Optional.empty();
    }
    String handle =
        Optional.ofNullable(environment.get("WORKA_GITHUB_HANDLE"))
            .map(String::strip)
            .filter(h -> !h.isEmpty())
            .map(h -> h.startsWith("@") ? h.substring(1) : h)
            .orElse("worka");
    if (!HANDLE.matcher(handle).matches()) {
      problems.add(
          "WORKA_GITHUB_HANDLE="
              + handle
              + " is not a GitHub login (letters,"
              + " digits and single hyphens, at most 39)");
      return Optional.empty();
    }
    return Optional.of(new Webhook(secret, handle));
  }

  private static Optional<String> value(Map<String, String> environment, String name) {
    String v = environment.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
  }
}
