package dev.worka.gateway.skill.github;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillOutcomeUnknownException;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link FailureClassifier} against a table of upstream errors: what the MCP SDK threw or the tool
 * answered → how the call ends (failed, retryable, or an unknown outcome), the message (the token
 * redacted), and whether the session is dropped.
 */
class FailureClassifierTest {
  static final String TOKEN = "ghp-test-Secret-Token-0123456789";
  static final String SERVER = "the GitHub MCP server at https://mcp.example/mcp";
  static final UUID INVOCATION = UUID.fromString("00000000-0000-0000-0000-0000000000aa");
  static final InvocationContext CTX =
      new InvocationContext(UUID.randomUUID(), UUID.randomUUID(), "ernest", INVOCATION, null);
  static final String UNKNOWN =
      "; the outcome is unknown: the effect may have happened upstream (invocation "
          + INVOCATION
          + ", marker worka-invocation:"
          + INVOCATION
          + ", to reconcile)";

  static final FailureClassifier WITH_TOKEN = classifier(TOKEN);
  static final FailureClassifier WITHOUT_TOKEN = classifier(null);

  static FailureClassifier classifier(String token) {
    return new FailureClassifier(
        new GithubMcpEndpoint.Http(URI.create("https://mcp.example/mcp"), token),
        Duration.ofSeconds(10),
        Duration.ofSeconds(5));
  }

  /** How a call ends. */
  enum Ends {
    /** Not to be repeated: the server refused it, or said no. */
    FAILED,
    /** May succeed later; no effect can exist. */
    RETRYABLE,
    /** A side effect may exist: reconciled before any repeat, never retried blindly. */
    OUTCOME_UNKNOWN
  }

  static SkillDefinition skill(String name) {
    return CatalogOnlyProvider.github(true).skills().stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow();
  }

  static final SkillDefinition CREATE = skill("github.create_issue");
  static final SkillDefinition READ = skill("github.get_issue");

  static McpError rpc(int code, String message) {
    return new McpError(new McpSchema.JSONRPCResponse.JSONRPCError(code, message, null));
  }

  static Ends ends(SkillFailedException e) {
    if (e instanceof SkillOutcomeUnknownException) {
      assertFalse(e.retryable(), "an unknown outcome is never retried blindly");
      return Ends.OUTCOME_UNKNOWN;
    }
    return e.retryable() ? Ends.RETRYABLE : Ends.FAILED;
  }

  // ---------------------------------------------------------------------------------------------
  // What the SDK threw while calling a tool

  static Stream<Arguments> thrown() {
    String longText = "x".repeat(400);
    return Stream.of(
        // JSON-RPC errors: -32600..-32602 mean the server refused the request; it did nothing.
        row(
            CREATE,
            rpc(-32602, "Invalid params: owner"),
            Ends.FAILED,
            "GitHub MCP tool create_issue answered with JSON-RPC error -32602 Invalid params: owner",
            null),
        row(
            CREATE,
            rpc(-32600, "Invalid Request"),
            Ends.FAILED,
            "GitHub MCP tool create_issue answered with JSON-RPC error -32600 Invalid Request",
            null),
        row(
            READ,
            rpc(-32601, "Method not found"),
            Ends.FAILED,
            "GitHub MCP tool get_issue answered with JSON-RPC error -32601 Method not found",
            null),
        // Any other JSON-RPC error came after the request was taken: the effect may exist.
        row(
            CREATE,
            rpc(-32603, "Internal error"),
            Ends.OUTCOME_UNKNOWN,
            "GitHub MCP tool create_issue answered with JSON-RPC error -32603 Internal error"
                + UNKNOWN,
            null),
        row(
            CREATE,
            rpc(-32599, "just outside"),
            Ends.OUTCOME_UNKNOWN,
            "GitHub MCP tool create_issue answered with JSON-RPC error -32599 just outside"
                + UNKNOWN,
            null),
        row(
            READ,
            rpc(-32603, "Internal error"),
            Ends.RETRYABLE,
            "GitHub MCP tool get_issue answered with JSON-RPC error -32603 Internal error",
            null),
        row(
            CREATE,
            new RuntimeException("wrapped", rpc(-32001, "session expired")),
            Ends.OUTCOME_UNKNOWN,
            "GitHub MCP tool create_issue answered with JSON-RPC error -32001 session expired"
                + UNKNOWN,
            null),
        row(
            READ,
            rpc(-32000, "Not Found: repo " + TOKEN),
            Ends.RETRYABLE,
            "GitHub MCP tool get_issue answered with JSON-RPC error -32000 Not Found: repo"
                + " [redacted]",
            null),
        row(
            READ,
            rpc(-32000, longText + longText),
            Ends.RETRYABLE,
            "GitHub MCP tool get_issue answered with JSON-RPC error -32000 "
                + (longText + longText).substring(0, 500)
                + "…",
            null),
        // No answer within the call timeout.
        row(
            CREATE,
            new RuntimeException(new TimeoutException("Timeout on blocking read")),
            Ends.OUTCOME_UNKNOWN,
            "GitHub MCP tool create_issue did not answer within 5s" + UNKNOWN,
            null),
        row(
            CREATE,
            new IllegalStateException(
                "Did not observe any item or terminal signal within 5000ms in 'source'"),
            Ends.OUTCOME_UNKNOWN,
            "GitHub MCP tool create_issue did not answer within 5s" + UNKNOWN,
            null),
        row(
            READ,
            new RuntimeException(new TimeoutException()),
            Ends.RETRYABLE,
            "GitHub MCP tool get_issue did not answer within 5s",
            null),
        // Connection refused: nothing was sent, so even a side effect may be retried.
        row(
            CREATE,
            new RuntimeException(new ConnectException("Connection refused")),
            Ends.RETRYABLE,
            "GitHub MCP tool create_issue could not be called: "
                + SERVER
                + " cannot be reached (connection refused; the call was not sent)",
            "cannot be reached (connection refused)"),
        // Anything else broke the session mid-call.
        row(
            CREATE,
            new IllegalStateException("stream closed"),
            Ends.OUTCOME_UNKNOWN,
            "calling GitHub MCP tool create_issue failed (IllegalStateException: stream closed)"
                + UNKNOWN,
            "broke the session (IllegalStateException)"),
        row(
            READ,
            new IllegalStateException("stream closed"),
            Ends.RETRYABLE,
            "calling GitHub MCP tool get_issue failed (IllegalStateException: stream closed)",
            "broke the session (IllegalStateException)"),
        row(
            READ,
            new RuntimeException("Authorization: Bearer " + TOKEN),
            Ends.RETRYABLE,
            "calling GitHub MCP tool get_issue failed (RuntimeException: Authorization: Bearer"
                + " [redacted])",
            "broke the session (RuntimeException)"),
        row(
            READ,
            new RuntimeException(longText),
            Ends.RETRYABLE,
            "calling GitHub MCP tool get_issue failed (RuntimeException: "
                + longText.substring(0, 300)
                + "…)",
            "broke the session (RuntimeException)"));
  }

  static Arguments row(
      SkillDefinition skill, RuntimeException e, Ends ends, String message, String broken) {
    return Arguments.of(skill, e, ends, message, broken);
  }

  @ParameterizedTest(name = "{0} threw {1} → {2}")
  @MethodSource("thrown")
  void aThrownErrorIsClassified(
      SkillDefinition skill, RuntimeException e, Ends ends, String message, String broken) {
    String tool = ToolRoutes.action(skill);
    FailureClassifier.Verdict verdict = WITH_TOKEN.thrown(skill, tool, e, CTX);
    SkillFailedException failure = verdict.failure();
    assertEquals(ends, ends(failure), failure.getMessage());
    assertEquals("skill " + skill.name() + " failed: " + message, failure.getMessage());
    assertEquals(Optional.ofNullable(broken), verdict.brokenSession());
    boolean mentionsToken = false;
    for (Throwable t = e; t != null; t = t.getCause()) {
      mentionsToken |= String.valueOf(t).contains(TOKEN);
    }
    if (mentionsToken) {
      assertNull(failure.getCause(), "a cause that holds the token is not kept");
    } else {
      assertSame(e, failure.getCause());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // What a tool answered with isError: true (or not at all)

  static Stream<Arguments> errorAnswers() {
    String longText = "y".repeat(1500);
    return Stream.of(
        Arguments.of("API rate limit exceeded for user ID 1", Ends.RETRYABLE, null),
        Arguments.of("You have exceeded a secondary rate limit", Ends.RETRYABLE, null),
        Arguments.of("abuse detection mechanism triggered", Ends.RETRYABLE, null),
        Arguments.of("429 Too Many Requests", Ends.RETRYABLE, null),
        Arguments.of("failed: 500 Internal Server Error", Ends.RETRYABLE, null),
        Arguments.of("HTTP 502 Bad Gateway", Ends.RETRYABLE, null),
        Arguments.of("503", Ends.RETRYABLE, null),
        Arguments.of("upstream answered 504", Ends.RETRYABLE, null),
        Arguments.of("request timed out", Ends.RETRYABLE, null),
        Arguments.of("Timeout", Ends.RETRYABLE, null),
        Arguments.of("GitHub is temporarily unavailable", Ends.RETRYABLE, null),
        Arguments.of("please try again later", Ends.RETRYABLE, null),
        Arguments.of("Service Unavailable", Ends.RETRYABLE, null),
        Arguments.of("GET https://api.github.com/repos/a/b: 404 Not Found []", Ends.FAILED, null),
        Arguments.of("422 Validation Failed", Ends.FAILED, null),
        Arguments.of("Resource not accessible by integration", Ends.FAILED, null),
        Arguments.of("5000 issues match; narrow the query", Ends.FAILED, null),
        Arguments.of("(no message)", Ends.FAILED, null),
        Arguments.of(
            "401 Bad credentials for " + TOKEN, Ends.FAILED, "401 Bad credentials for [redacted]"),
        Arguments.of("rate limit for " + TOKEN, Ends.RETRYABLE, "rate limit for [redacted]"),
        Arguments.of(longText, Ends.FAILED, longText.substring(0, 1000) + "…"));
  }

  @ParameterizedTest(name = "\"{0}\" → {1}")
  @MethodSource("errorAnswers")
  void anErrorAnswerIsRetryableWhenItSaysSo(String text, Ends ends, String cleaned) {
    SkillFailedException failure = WITH_TOKEN.errorAnswer("github.get_issue", "get_issue", text);
    assertEquals(ends, ends(failure), failure.getMessage());
    assertEquals(
        "skill github.get_issue failed: GitHub MCP tool get_issue answered with an error: "
            + (cleaned == null ? text : cleaned),
        failure.getMessage());
  }

  @org.junit.jupiter.api.Test
  void noResultIsRetryable() {
    SkillFailedException failure = WITH_TOKEN.noResult("github.get_issue", "get_issue");
    assertEquals(Ends.RETRYABLE, ends(failure));
    assertEquals(
        "skill github.get_issue failed: GitHub MCP tool get_issue returned no result",
        failure.getMessage());
  }

  // ---------------------------------------------------------------------------------------------
  // Why connecting failed (the provider's unavailability reason)

  static Stream<Arguments> connectFailures() {
    return Stream.of(
        Arguments.of(
            WITH_TOKEN,
            new RuntimeException("Server returned HTTP 401 Unauthorized"),
            "refused the credentials (HTTP 401/403): GITHUB_TOKEN is wrong, expired or lacks the"
                + " scopes needed"),
        Arguments.of(
            WITHOUT_TOKEN,
            new RuntimeException(new IOException("403 Forbidden")),
            "refused the credentials (HTTP 401/403): GITHUB_TOKEN is not set"),
        Arguments.of(
            WITH_TOKEN,
            new RuntimeException(new ConnectException()),
            "cannot be reached (connection refused)"),
        Arguments.of(
            WITH_TOKEN, new RuntimeException(new TimeoutException()), "did not answer within 10s"),
        Arguments.of(
            WITH_TOKEN,
            new IllegalStateException("Connection Timeout"),
            "did not answer within 10s"),
        Arguments.of(
            WITH_TOKEN,
            rpc(-32603, "unsupported protocol version from " + TOKEN),
            "answered the MCP handshake with an error: unsupported protocol version from"
                + " [redacted]"),
        Arguments.of(
            WITH_TOKEN,
            new RuntimeException("outer", new IOException("stream reset by " + TOKEN)),
            "could not be connected (IOException: stream reset by [redacted])"));
  }

  @ParameterizedTest(name = "{1} → {2}")
  @MethodSource("connectFailures")
  void aConnectFailureSaysWhatToCheck(FailureClassifier classifier, Throwable e, String reason) {
    assertEquals(reason, classifier.connectFailure(e));
  }
}
