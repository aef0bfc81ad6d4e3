package dev.worka.gateway.skill.github;

import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillOutcomeUnknownException;
import io.modelcontextprotocol.client.transport.McpHttpClientTransportAuthorizationException;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * What a failure of the GitHub MCP server means, decided in one place from what the MCP SDK threw
 * or what the tool answered: whether the same call may succeed later ({@linkplain
 * SkillFailedException#retryable() retryable}), whether a side effect may exist upstream ({@link
 * SkillOutcomeUnknownException}: the mediator reconciles before any repeat), whether the session is
 * broken (dropped, and opened again on the next use), and the message, with the token replaced by
 * {@code [redacted]}. An exception whose cause chain mentions the token is not kept as the cause.
 *
 * <table>
 *   <caption>A call that failed</caption>
 *   <tr><th>upstream<th>side-effecting skill<th>read (and a reconciliation's lookup)
 *   <tr><td>JSON-RPC error -32600..-32602 (the server refused the request)<td>failed<td>failed
 *   <tr><td>another JSON-RPC error<td>outcome unknown<td>retryable
 *   <tr><td>no answer within the call timeout<td>outcome unknown<td>retryable
 *   <tr><td>connection refused (nothing was sent; session dropped)<td>retryable<td>retryable
 *   <tr><td>anything else (session dropped)<td>outcome unknown<td>retryable
 *   <tr><td>an error answer ({@code isError})<td colspan="2">retryable when its text reads like a
 *       rate limit, a 429 or 5xx, a timeout or "try again"; failed otherwise
 *   <tr><td>no result at all<td colspan="2">retryable
 * </table>
 *
 * <p>{@code FailureClassifierTest} holds it to a table of upstream errors.
 */
final class FailureClassifier {
  private static final Pattern RETRYABLE_ERROR =
      Pattern.compile(
          "rate limit|secondary rate|abuse detection|too many requests|\\b(429|500|502|503|504)\\b"
              + "|timed? ?out|temporarily|try again|service unavailable|bad gateway",
          Pattern.CASE_INSENSITIVE);

  private final GithubMcpEndpoint endpoint;
  private final Duration connectTimeout;
  private final Duration callTimeout;

  FailureClassifier(GithubMcpEndpoint endpoint, Duration connectTimeout, Duration callTimeout) {
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
    this.callTimeout = Objects.requireNonNull(callTimeout, "callTimeout");
  }

  /**
   * A call that threw: the failure to raise, and why the session is broken when it is (then the
   * caller drops it).
   */
  record Verdict(SkillFailedException failure, Optional<String> brokenSession) {}

  /** What {@code e}, thrown by calling {@code tool} for {@code skill} under {@code ctx}, means. */
  Verdict thrown(SkillDefinition skill, String tool, RuntimeException e, InvocationContext ctx) {
    String name = skill.name();
    String unknown =
        skill.sideEffect()
            ? "; the outcome is unknown: the effect may have happened upstream (invocation "
                + ctx.invocationId()
                + ", marker "
                + ctx.marker()
                + ", to reconcile)"
            : "";
    Optional<McpError> error = find(e, McpError.class);
    if (error.isPresent()) {
      McpSchema.JSONRPCResponse.JSONRPCError rpc = error.get().getJsonRpcError();
      Integer code = rpc == null ? null : rpc.code();
      boolean refused = code != null && code >= -32602 && code <= -32600;
      String text =
          "GitHub MCP tool "
              + tool
              + " answered with JSON-RPC error "
              + (code == null ? "" : code + " ")
              + clip(redact(String.valueOf(error.get().getMessage())), 500);
      return new Verdict(
          refused ? safeFailure(name, text, false, e) : uncertain(skill, text + unknown, e),
          Optional.empty());
    }
    if (find(e, TimeoutException.class).isPresent()
        || chainMentions(e, "Did not observe any item")) {
      return new Verdict(
          uncertain(
              skill,
              "GitHub MCP tool "
                  + tool
                  + " did not answer within "
                  + callTimeout.toSeconds()
                  + "s"
                  + unknown,
              e),
          Optional.empty());
    }
    if (find(e, ConnectException.class).isPresent()) {
      return new Verdict(
          safeFailure(
              name,
              "GitHub MCP tool "
                  + tool
                  + " could not be called: "
                  + endpoint.describe()
                  + " cannot be reached (connection refused; the call was not sent)",
              true,
              e),
          Optional.of("cannot be reached (connection refused)"));
    }
    return new Verdict(
        uncertain(
            skill,
            "calling GitHub MCP tool "
                + tool
                + " failed ("
                + e.getClass().getSimpleName()
                + ": "
                + clip(redact(String.valueOf(e.getMessage())), 300)
                + ")"
                + unknown,
            e),
        Optional.of("broke the session (" + e.getClass().getSimpleName() + ")"));
  }

  /** {@code tool} answered {@code isError} with {@code text} (its text contents, or a stand-in). */
  SkillFailedException errorAnswer(String skill, String tool, String text) {
    return new SkillFailedException(
        skill,
        "GitHub MCP tool " + tool + " answered with an error: " + clip(redact(text), 1000),
        RETRYABLE_ERROR.matcher(text).find());
  }

  /** {@code tool} returned nothing at all. */
  SkillFailedException noResult(String skill, String tool) {
    return new SkillFailedException(skill, "GitHub MCP tool " + tool + " returned no result", true);
  }

  /**
   * Why connecting failed, as the provider's unavailability reason says it (after the server's
   * description): refused credentials, not reachable, no answer in time, a handshake error, or the
   * root cause.
   */
  @SuppressWarnings("ReferenceEquality") // a throwable that is its own cause ends the chain
  String connectFailure(Throwable e) {
    if (find(e, McpHttpClientTransportAuthorizationException.class).isPresent()
        || chainMentions(e, "401")
        || chainMentions(e, "403")) {
      return "refused the credentials (HTTP 401/403): GITHUB_TOKEN is "
          + (endpoint.token() == null ? "not set" : "wrong, expired or lacks the scopes needed");
    }
    if (find(e, ConnectException.class).isPresent()) {
      return "cannot be reached (connection refused)";
    }
    if (find(e, TimeoutException.class).isPresent()
        || find(e, HttpTimeoutException.class).isPresent()
        || chainMentions(e, "timeout")
        || chainMentions(e, "Timeout")) {
      return "did not answer within " + connectTimeout.toSeconds() + "s";
    }
    Optional<McpError> error = find(e, McpError.class);
    if (error.isPresent()) {
      return "answered the MCP handshake with an error: "
          + redact(String.valueOf(error.get().getMessage()));
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return "could not be connected ("
        + root.getClass().getSimpleName()
        + ": "
        + clip(redact(String.valueOf(root.getMessage())), 300)
        + ")";
  }

  /** {@code text} with the token replaced by {@code [redacted]}. */
  String redact(String text) {
    String token = endpoint.token();
    return token == null || text == null ? text : text.replace(token, "[redacted]");
  }

  /**
   * A call that went out and got no usable answer: for a side-effecting skill the effect may exist,
   * so the failure says the outcome is unknown (the mediator then reconciles before any repeat); a
   * read may simply be retried.
   */
  private SkillFailedException uncertain(SkillDefinition skill, String message, Throwable cause) {
    if (!skill.sideEffect()) {
      return safeFailure(skill.name(), message, true, cause);
    }
    return new SkillOutcomeUnknownException(
        skill.name(), redact(message), mentionsToken(cause) ? null : cause);
  }

  /** A failure whose cause is kept only when no message in the cause chain holds the token. */
  private SkillFailedException safeFailure(
      String skill, String message, boolean retryable, Throwable cause) {
    return new SkillFailedException(
        skill, redact(message), retryable, mentionsToken(cause) ? null : cause);
  }

  @SuppressWarnings("ReferenceEquality") // a throwable that is its own cause ends the chain
  private boolean mentionsToken(Throwable e) {
    String token = endpoint.token();
    for (Throwable t = e; t != null && token != null; t = t.getCause() == t ? null : t.getCause()) {
      if (String.valueOf(t.getMessage()).contains(token) || String.valueOf(t).contains(token)) {
        return true;
      }
    }
    return false;
  }

  @SuppressWarnings("ReferenceEquality") // a throwable that is its own cause ends the chain
  private static <T extends Throwable> Optional<T> find(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return Optional.of(type.cast(t));
      }
    }
    return Optional.empty();
  }

  @SuppressWarnings("ReferenceEquality") // a throwable that is its own cause ends the chain
  private static boolean chainMentions(Throwable e, String text) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (String.valueOf(t.getMessage()).contains(text)) {
        return true;
      }
    }
    return false;
  }

  static String clip(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max) + "…";
  }
}
