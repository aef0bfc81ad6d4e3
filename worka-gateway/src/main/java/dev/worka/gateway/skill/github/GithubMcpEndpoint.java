package dev.worka.gateway.skill.github;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where the GitHub MCP server is: a URL (streamable HTTP, the token sent as {@code Authorization:
 * Bearer}) or a command started as a child process (stdio, the token given to it as {@code
 * GITHUB_PERSONAL_ACCESS_TOKEN}). {@code toString()} and {@link #describe()} never show the token.
 * Read from the environment by {@code config.GithubSettings}; its messages name the variables.
 */
public sealed interface GithubMcpEndpoint {

  /** How messages name the server, without secrets. */
  String describe();

  /** What an operator should check when the server cannot be reached. */
  String whatToCheck();

  /** The token, or null when none is configured. */
  String token();

  /** A server at {@code url} ({@code GITHUB_MCP_URL}). */
  public record Http(URI url, String token) implements GithubMcpEndpoint {
    public Http {
      Objects.requireNonNull(url, "url");
      if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
        throw new IllegalArgumentException(
            "GITHUB_MCP_URL must be an http(s) URL, was " + safe(url));
      }
      if (url.getHost() == null) {
        throw new IllegalArgumentException("GITHUB_MCP_URL has no host: " + safe(url));
      }
    }

    @Override
    public String describe() {
      return "the GitHub MCP server at " + safe(url);
    }

    @Override
    public String whatToCheck() {
      return "check GITHUB_MCP_URL ("
          + safe(url)
          + "), that the server is up and reachable from the"
          + " Gateway, and GITHUB_TOKEN";
    }

    @Override
    public String toString() {
      return "Http[" + safe(url) + ", token " + (token == null ? "unset" : "set") + "]";
    }

    /** The URL without user info, query or fragment (which may hold credentials). */
    static String safe(URI url) {
      String port = url.getPort() < 0 ? "" : ":" + url.getPort();
      String path = url.getRawPath() == null ? "" : url.getRawPath();
      return url.getScheme() + "://" + url.getHost() + port + path;
    }
  }

  /**
   * A server started from {@code argv} ({@code GITHUB_MCP_COMMAND}, split on whitespace) with an
   * empty environment plus {@code environment} (never the Gateway's own).
   */
  public record Stdio(List<String> argv, String token, Map<String, String> environment)
      implements GithubMcpEndpoint {
    public Stdio {
      argv = List.copyOf(argv);
      if (argv.isEmpty() || argv.get(0).isBlank()) {
        throw new IllegalArgumentException("GITHUB_MCP_COMMAND is empty");
      }
      environment = Map.copyOf(environment);
    }

    @Override
    public String describe() {
      return "the GitHub MCP server started by GITHUB_MCP_COMMAND (" + argv.get(0) + ")";
    }

    @Override
    public String whatToCheck() {
      return "check GITHUB_MCP_COMMAND ("
          + argv.get(0)
          + " must start an MCP server on stdio), the"
          + " server's own messages in the Gateway log, and GITHUB_TOKEN";
    }

    @Override
    public String toString() {
      return "Stdio["
          + argv.get(0)
          + " +"
          + (argv.size() - 1)
          + " args, token "
          + (token == null ? "unset" : "set")
          + "]";
    }
  }
}
