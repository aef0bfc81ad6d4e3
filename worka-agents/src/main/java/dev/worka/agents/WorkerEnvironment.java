package dev.worka.agents;

import dev.worka.protocol.AgentEnvironment;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The worker environment (DESIGN §5), read and checked once at start. The Gateway URL and the token
 * are required; the run and step ids are informational (the token is the authority); {@code
 * traceparent} is passed on only if it is well formed.
 *
 * <p>{@link #toString()} leaves the token out, so this record can be logged.
 */
record WorkerEnvironment(
    URI gatewayUrl, String token, String agent, String runId, String stepId, String traceparent) {

  /** Largest token file read; a JWT is a few hundred bytes. */
  private static final long MAX_TOKEN_FILE_BYTES = 64 * 1024;

  private static final Pattern TRACEPARENT =
      Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

  /** What reading the environment gave: a usable environment, or why it is not one. */
  sealed interface Reading {
    record Usable(WorkerEnvironment environment, Optional<String> notice) implements Reading {}

    record Unusable(String message) implements Reading {}
  }

  /**
   * Reads the environment. {@code agentArgument} is the positional NAME argument, or null; it wins
   * over {@code WORKA_AGENT}.
   */
  static Reading read(Map<String, String> env, String agentArgument) {
    String agent =
        agentArgument != null ? agentArgument : blankToNull(env.get(AgentEnvironment.AGENT));
    if (agent == null) {
      return new Reading.Unusable(
          "no agent named: pass one as the first argument (hari, ernest or daneel) or set "
              + AgentEnvironment.AGENT);
    }
    String rawUrl = blankToNull(env.get(AgentEnvironment.GATEWAY_URL));
    if (rawUrl == null) {
      return new Reading.Unusable(
          AgentEnvironment.GATEWAY_URL
              + " is not set; the Gateway starts workers with it (e.g. http://127.0.0.1:8080)");
    }
    URI url;
    try {
      url = new URI(rawUrl.strip());
    } catch (URISyntaxException e) {
      return new Reading.Unusable(
          AgentEnvironment.GATEWAY_URL + " is not a URL (" + e.getMessage() + ")");
    }
    if (!("http".equalsIgnoreCase(url.getScheme()) || "https".equalsIgnoreCase(url.getScheme()))
        || url.getHost() == null) {
      return new Reading.Unusable(
          AgentEnvironment.GATEWAY_URL
              + " must be an http:// or https:// URL with a host, not '"
              + rawUrl
              + "'");
    }
    String base = url.toString().replaceAll("/+$", "");

    String token;
    String inline = blankToNull(env.get(AgentEnvironment.TOKEN));
    String file = blankToNull(env.get(AgentEnvironment.TOKEN_FILE));
    if (inline != null) {
      token = inline.strip();
    } else if (file != null) {
      try {
        token = readTokenFile(Path.of(file));
      } catch (IOException | RuntimeException e) {
        return new Reading.Unusable(describeTokenFileProblem(file, e));
      }
      if (token.isEmpty()) {
        return new Reading.Unusable(
            AgentEnvironment.TOKEN_FILE + " points to " + file + ", which is empty");
      }
    } else {
      return new Reading.Unusable(
          "no token: set "
              + AgentEnvironment.TOKEN
              + " or "
              + AgentEnvironment.TOKEN_FILE
              + " (the path of a file holding the step token)");
    }
    if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      return new Reading.Unusable(
          "the token contains spaces or characters that cannot be sent in an HTTP header; it is"
              + " not a JWT");
    }

    String traceparent = blankToNull(env.get(AgentEnvironment.TRACEPARENT));
    Optional<String> notice = Optional.empty();
    if (traceparent != null && !TRACEPARENT.matcher(traceparent.strip()).matches()) {
      notice =
          Optional.of(
              AgentEnvironment.TRACEPARENT + " is not W3C trace context; calls go without it");
      traceparent = null;
    }
    return new Reading.Usable(
        new WorkerEnvironment(
            URI.create(base),
            token,
            agent,
            blankToNull(env.get(AgentEnvironment.RUN_ID)),
            blankToNull(env.get(AgentEnvironment.STEP_ID)),
            traceparent == null ? null : traceparent.strip()),
        notice);
  }

  private static String readTokenFile(Path path) throws IOException {
    if (Files.size(path) > MAX_TOKEN_FILE_BYTES) {
      throw new IOException("larger than " + MAX_TOKEN_FILE_BYTES + " bytes, so not a token");
    }
    return Files.readString(path, StandardCharsets.UTF_8).strip();
  }

  private static String describeTokenFileProblem(String file, Exception e) {
    String prefix = AgentEnvironment.TOKEN_FILE + " points to " + file;
    return switch (e) {
      case NoSuchFileException x -> prefix + ", which does not exist";
      case AccessDeniedException x -> prefix + ", which this process may not read";
      default ->
          prefix
              + ", which could not be read ("
              + e.getClass().getSimpleName()
              + ": "
              + e.getMessage()
              + ")";
    };
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }

  @Override
  public String toString() {
    return "WorkerEnvironment[gatewayUrl="
        + gatewayUrl
        + ", token=<redacted>, agent="
        + agent
        + ", runId="
        + runId
        + ", stepId="
        + stepId
        + ", traceparent="
        + traceparent
        + "]";
  }
}
