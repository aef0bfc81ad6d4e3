package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.skill.Availability;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.gateway.skill.github.ToolRoutes.ResolvedRoute;
import dev.worka.protocol.Json;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code github.*} skills, live, through a GitHub MCP server (GitHub's hosted server, a
 * self-run github-mcp-server, or any server offering the same tools), with the official MCP Java
 * SDK's client. Four parts, each in its own class:
 *
 * <ul>
 *   <li><b>The session and its back-off</b> ({@link McpConnection}, {@link McpSession}): connected
 *       once at construction, bounded by the connect timeout; a server that is down makes the
 *       provider unavailable with a reason saying what to check, never a failed or hung Gateway
 *       start, and is tried again on a later use after a back-off (1 s doubling to 60 s). A broken
 *       session is dropped and re-opened on the next use.
 *   <li><b>The routes</b> ({@link ToolRoutes}): which server tool serves a skill (consolidated
 *       tools of newer servers where the classic one is missing), the arguments it gets, and what a
 *       call that posts is made into: inert text ({@link GithubText}) carrying the invocation's
 *       marker. A skill whose tool the server lacks is unavailable, naming the tool; the other
 *       skills are not affected.
 *   <li><b>The reconciler</b> ({@link FindEffectByMarker}): the issue or comment that carries an
 *       invocation's marker, found by listing, for a call whose answer was lost.
 *   <li><b>The failure classifier</b> ({@link FailureClassifier}): what a failed call means —
 *       retryable or not, an unknown outcome (a side effect that may exist) or a failure, and the
 *       message with the token redacted.
 * </ul>
 *
 * <p><b>Calls.</b> The final arguments are checked against the tool's own {@code inputSchema}
 * before anything is sent (a violation is a non-retryable failure; the server never sees the call).
 *
 * <p><b>Secrets.</b> The token goes only into the {@code Authorization} header (HTTP) or the
 * child's {@code GITHUB_PERSONAL_ACCESS_TOKEN} (stdio; the child gets no other variable of the
 * Gateway's besides {@code PATH}, {@code HOME}, {@code USER}, {@code LOGNAME}, {@code SHELL},
 * {@code TERM} and the non-secret {@code GithubSettings.PASSED_TO_STDIO_SERVER}). Every message
 * made from upstream text has the token replaced by {@code [redacted]}.
 *
 * <p>Thread-safe. {@link #close()} ends the session and, for stdio, the child process tree.
 */
public final class McpGithubProvider implements SkillProvider, AutoCloseable {
  public static final String PROVIDER = "github";

  /** Default bound of connecting (initialize + tools/list). */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final SkillProvider catalog;
  private final GithubMcpEndpoint endpoint;
  private final Duration callTimeout;
  private final FailureClassifier failures;
  private final McpConnection connection;
  private final FindEffectByMarker findEffect;

  /**
   * Connects once (bounded by {@code connectTimeout}); a failure leaves it unavailable with the
   * reason, to be retried later.
   *
   * @param catalog the catalog-only GitHub provider whose skills (names, schemas, side effects,
   *     dry-run shapes) this one offers live
   */
  McpGithubProvider(
      SkillProvider catalog,
      GithubMcpEndpoint endpoint,
      Duration connectTimeout,
      Duration callTimeout,
      InstantSource clock) {
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    if (!PROVIDER.equals(catalog.name())) {
      throw new IllegalArgumentException(
          "the catalog must be the github one, was " + catalog.name());
    }
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    requirePositive(connectTimeout, "connectTimeout");
    this.callTimeout = requirePositive(callTimeout, "callTimeout");
    Objects.requireNonNull(clock, "clock");
    this.failures = new FailureClassifier(endpoint, connectTimeout, callTimeout);
    this.connection =
        new McpConnection(endpoint, connectTimeout, callTimeout, clock, failures, skills());
    this.findEffect = new FindEffectByMarker(connection, endpoint, this::lookup);
  }

  /**
   * The live provider of {@code catalog}'s skills through the server at {@code endpoint}, connected
   * within {@link #DEFAULT_CONNECT_TIMEOUT}; a call may take {@code callTimeout} ({@code
   * WORKA_SKILL_TIMEOUT}).
   */
  public McpGithubProvider(
      SkillProvider catalog,
      GithubMcpEndpoint endpoint,
      Duration callTimeout,
      InstantSource clock) {
    this(catalog, endpoint, DEFAULT_CONNECT_TIMEOUT, callTimeout, clock);
  }

  @Override
  public Duration callTimeout() {
    return callTimeout;
  }

  // ---------------------------------------------------------------------------------------------
  // SkillProvider

  @Override
  public String name() {
    return PROVIDER;
  }

  @Override
  public String upstream() {
    return "GitHub";
  }

  @Override
  public List<SkillDefinition> skills() {
    return catalog.skills();
  }

  @Override
  public JsonNode dryRunShape(SkillDefinition skill) {
    return catalog.dryRunShape(skill);
  }

  @Override
  public Availability availability() {
    McpSession s = connection.connectIfDue(false);
    return s != null
        ? new Availability.Available()
        : new Availability.Unavailable(connection.downReason());
  }

  @Override
  public Availability availability(SkillDefinition skill) {
    McpSession s = connection.connectIfDue(false);
    if (s == null) {
      return new Availability.Unavailable(connection.downReason());
    }
    return s.route(ToolRoutes.action(skill))
        .<Availability>map(
            r ->
                r.problem() == null
                    ? new Availability.Available()
                    : new Availability.Unavailable(
                        skill.name() + " is unavailable: " + r.problem()))
        .orElseGet(
            () -> new Availability.Unavailable(ToolRoutes.missingTool(skill, endpoint.describe())));
  }

  @Override
  public JsonNode invoke(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    Objects.requireNonNull(ctx, "ctx");
    McpSession s = connection.connectIfDue(true);
    if (s == null) {
      throw new SkillUnavailableException(skill.name(), connection.downReason());
    }
    ResolvedRoute route =
        s.route(ToolRoutes.action(skill))
            .orElseThrow(
                () ->
                    new SkillUnavailableException(
                        skill.name(), ToolRoutes.missingTool(skill, endpoint.describe())));
    if (route.problem() != null) {
      throw new SkillUnavailableException(skill.name(), route.problem());
    }
    if (!(input instanceof ObjectNode object)) {
      throw new SkillFailedException(skill.name(), "input must be a JSON object", false);
    }
    ObjectNode arguments = ToolRoutes.arguments(skill, route, object, ctx);
    List<String> violations = route.schema().violations(arguments);
    if (!violations.isEmpty()) {
      throw new SkillFailedException(
          skill.name(),
          failures.redact(
              "input does not match the input schema of "
                  + "GitHub MCP tool "
                  + route.tool()
                  + ": "
                  + String.join("; ", violations)),
          false);
    }
    return output(skill.name(), route.tool(), call(s, skill, route.tool(), arguments, ctx));
  }

  @Override
  public Optional<String> upstreamRef(SkillDefinition skill, JsonNode output) {
    return output == null ? Optional.empty() : FindEffectByMarker.firstUrl(output);
  }

  /**
   * Looks, read-only, for the effect of an earlier call of {@code skill} under {@code ctx}: the
   * issue or comment carrying {@code ctx.marker()} ({@link FindEffectByMarker}).
   */
  @Override
  public Reconciliation reconcile(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    return findEffect.reconcile(skill, input, ctx);
  }

  /** Ends the session; for stdio, the child process and its descendants. Idempotent. */
  @Override
  public void close() {
    connection.close();
  }

  @Override
  public String toString() {
    return "McpGithubProvider["
        + endpoint
        + ", "
        + (connection.connected() ? "connected" : "down")
        + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Calling

  private McpSchema.CallToolResult call(
      McpSession s,
      SkillDefinition skill,
      String tool,
      ObjectNode arguments,
      InvocationContext ctx) {
    try {
      return s.call(tool, arguments);
    } catch (RuntimeException e) {
      FailureClassifier.Verdict verdict = failures.thrown(skill, tool, e, ctx);
      verdict.brokenSession().ifPresent(why -> connection.drop(s, why));
      throw verdict.failure();
    }
  }

  /** Calls a read-only lookup tool (for reconciliation); fails like a skill call would. */
  private JsonNode lookup(
      McpSession s,
      SkillDefinition skill,
      ResolvedRoute route,
      ObjectNode arguments,
      InvocationContext ctx) {
    List<String> violations = route.schema().violations(arguments);
    if (!violations.isEmpty()) {
      throw new SkillFailedException(
          skill.name(),
          "the lookup does not match the input schema of "
              + route.tool()
              + ": "
              + String.join("; ", violations),
          false);
    }
    return output(
        skill.name(), route.tool(), call(s, lookupSkill(skill), route.tool(), arguments, ctx));
  }

  /** The same skill seen as read-only, so a failed lookup does not claim an unknown effect. */
  private static SkillDefinition lookupSkill(SkillDefinition skill) {
    return new SkillDefinition(
        skill.name(), skill.provider(), skill.description(), skill.inputSchema(), false);
  }

  /** The skill's output: the tool's structured content, or its text parsed as JSON where it is. */
  private JsonNode output(String skill, String tool, McpSchema.CallToolResult result) {
    if (result == null) {
      throw failures.noResult(skill, tool);
    }
    if (Boolean.TRUE.equals(result.isError())) {
      throw failures.errorAnswer(
          skill, tool, texts(result).stream().reduce((a, b) -> a + " " + b).orElse("(no message)"));
    }
    JsonNode out;
    if (result.structuredContent() != null) {
      out = Json.STRICT.valueToTree(result.structuredContent());
    } else {
      List<String> texts = texts(result);
      if (texts.size() == 1) {
        out = parseOrText(texts.get(0));
      } else {
        var array = Json.STRICT.createArrayNode();
        texts.forEach(t -> array.add(parseOrText(t)));
        out = array;
      }
    }
    if (out.isObject()) {
      return out;
    }
    ObjectNode wrapped = Json.STRICT.createObjectNode();
    wrapped.set("result", out);
    return wrapped;
  }

  private static List<String> texts(McpSchema.CallToolResult result) {
    List<String> texts = new ArrayList<>();
    if (result.content() != null) {
      for (McpSchema.Content content : result.content()) {
        if (content instanceof McpSchema.TextContent text && text.text() != null) {
          texts.add(text.text());
        }
      }
    }
    return texts;
  }

  private static JsonNode parseOrText(String text) {
    try {
      return Json.LENIENT.readTree(text);
    } catch (JsonProcessingException | RuntimeException e) {
      return Json.STRICT.getNodeFactory().textNode(text);
    }
  }

  private static Duration requirePositive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, was " + d);
    }
    return d;
  }
}
