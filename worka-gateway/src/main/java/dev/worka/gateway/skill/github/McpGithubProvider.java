package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.skill.Availability;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillOutcomeUnknownException;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.protocol.Json;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.McpHttpClientTransportAuthorizationException;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.spec.McpClientTransport;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code github.*} skills, live, through a GitHub MCP server (GitHub's hosted server, a
 * self-run github-mcp-server, or any server offering the same tools), with the official MCP Java
 * SDK's client.
 *
 * <p><b>Connection.</b> At construction it connects once (initialize, then tools/list), bounded by
 * the connect timeout; a server that is down makes the provider unavailable with a reason saying
 * what to check, never a failed or hung Gateway start. It connects again lazily — on the next
 * availability check or call — no sooner than a back-off that doubles from {@link #INITIAL_BACKOFF}
 * to {@link #MAX_BACKOFF} after each failed attempt. A broken session (server restarted, transport
 * error) is dropped and re-opened on the next use.
 *
 * <p><b>Tools.</b> A skill's action is the tool's name ({@code github.create_issue} → {@code
 * create_issue}). Newer github-mcp-server versions consolidate some tools; those are used when the
 * classic one is missing: {@code get_issue} → {@code issue_read} with {@code method: get}, {@code
 * create_issue} → {@code issue_write} with {@code method: create}, comments lookup → {@code
 * issue_read} with {@code method: get_comments}. A skill whose tool the server lacks is
 * unavailable, naming the tool; the other skills are not affected.
 *
 * <p><b>Calls.</b> The final arguments are checked against the tool's own {@code inputSchema}
 * before anything is sent (a violation is a non-retryable failure; the server never sees the call).
 * What {@code create_issue} and {@code add_issue_comment} post is made inert first ({@link
 * GithubText}: no mention, no link whose text hides its target, no hidden HTML comment, no copy of
 * the marker). Side-effecting calls carry {@link InvocationContext#marker()} in what they create —
 * an HTML comment at the end of an issue's or comment's body — so that {@link #reconcile} can find
 * the effect of a call whose answer was lost. A timeout of a side-effecting call says that the
 * outcome is unknown.
 *
 * <p><b>Secrets.</b> The token goes only into the {@code Authorization} header (HTTP) or the
 * child's {@code GITHUB_PERSONAL_ACCESS_TOKEN} (stdio; the child gets no other variable of the
 * Gateway's besides {@code PATH}, {@code HOME}, {@code USER}, {@code LOGNAME}, {@code SHELL},
 * {@code TERM} and the non-secret {@link #PASSED_TO_STDIO_SERVER}). Every message this class makes
 * from upstream text has the token replaced by {@code [redacted]}.
 *
 * <p>Thread-safe. {@link #close()} ends the session and, for stdio, the child process tree.
 */
public final class McpGithubProvider implements SkillProvider, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(McpGithubProvider.class);

  public static final String PROVIDER = "github";

  /** Default bound of connecting (initialize + tools/list). */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /** Default bound of one tool call. */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);

  static final Duration INITIAL_BACKOFF = Duration.ofSeconds(1);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(60);

  /** github-mcp-server's own settings a stdio child may receive from the Gateway environment. */
  static final List<String> PASSED_TO_STDIO_SERVER =
      List.of("GITHUB_HOST", "GITHUB_TOOLSETS", "GITHUB_READ_ONLY");

  /** The variable github-mcp-server reads its token from. */
  static final String STDIO_TOKEN_VARIABLE = "GITHUB_PERSONAL_ACCESS_TOKEN";

  /** How many pages of 100 issues (newest first) or comments {@link #reconcile} reads at most. */
  static final int RECONCILE_PAGES = 3;

  static final int PAGE_SIZE = 100;

  private static final int MAX_TOOL_PAGES = 50;

  private static final Pattern RETRYABLE_ERROR =
      Pattern.compile(
          "rate limit|secondary rate|abuse detection|too many requests|\\b(429|500|502|503|504)\\b"
              + "|timed? ?out|temporarily|try again|service unavailable|bad gateway",
          Pattern.CASE_INSENSITIVE);

  /** A way to offer a skill's action with a server tool: the tool and arguments it always gets. */
  record Route(String tool, Map<String, Object> fixedArguments) {}

  /** Tools per skill action, in order of preference; an action not listed maps to itself. */
  static final Map<String, List<Route>> ROUTES =
      Map.of(
          "get_issue",
              List.of(
                  new Route("get_issue", Map.of()),
                  new Route("issue_read", Map.of("method", "get"))),
          "create_issue",
              List.of(
                  new Route("create_issue", Map.of()),
                  new Route("issue_write", Map.of("method", "create"))));

  /** The tools {@link #reconcile} reads with: an issue list, and an issue's comments. */
  static final List<Route> LIST_ISSUES = List.of(new Route("list_issues", Map.of()));

  static final List<Route> LIST_COMMENTS =
      List.of(
          new Route("get_issue_comments", Map.of()),
          new Route("issue_read", Map.of("method", "get_comments")));

  private final SkillProvider catalog;
  private final GithubMcpEndpoint endpoint;
  private final Duration connectTimeout;
  private final Duration callTimeout;
  private final InstantSource clock;
  private final ReentrantLock connecting = new ReentrantLock();

  private volatile Session session;
  private volatile String downReason;
  private volatile Instant nextAttempt = Instant.MIN;
  private volatile boolean closed;
  private Duration backoff = INITIAL_BACKOFF; // guarded by connecting

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
    this.connectTimeout = requirePositive(connectTimeout, "connectTimeout");
    this.callTimeout = requirePositive(callTimeout, "callTimeout");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.downReason = endpoint.describe() + " has not been connected yet";
    connectIfDue(true);
  }

  /**
   * The live GitHub provider the environment asks for, or empty when neither {@code GITHUB_MCP_URL}
   * nor {@code GITHUB_MCP_COMMAND} is set (then the catalog-only one stays). Reads {@code
   * GITHUB_MCP_URL} (wins when both are set), {@code GITHUB_MCP_COMMAND} (an argv split on
   * whitespace; no quoting), {@code GITHUB_TOKEN}, and passes {@link #PASSED_TO_STDIO_SERVER} to a
   * stdio child. Timeouts are the defaults (10 s connect, 30 s call).
   *
   * @throws IllegalArgumentException when {@code GITHUB_MCP_URL} is not an http(s) URL
   */
  public static Optional<McpGithubProvider> fromEnvironment(
      Map<String, String> environment, SkillProvider catalog, InstantSource clock) {
    Optional<GithubMcpEndpoint> endpoint = endpointFrom(environment);
    Duration callTimeout = callTimeoutFrom(environment);
    return endpoint.map(
        e -> new McpGithubProvider(catalog, e, DEFAULT_CONNECT_TIMEOUT, callTimeout, clock));
  }

  /**
   * {@code WORKA_SKILL_TIMEOUT} (e.g. {@code 30s}, 1 s to 10 min): how long a live call may take.
   * It also bounds how long a call without a recorded outcome counts as still under way.
   */
  static Duration callTimeoutFrom(Map<String, String> environment) {
    String text = value(environment, "WORKA_SKILL_TIMEOUT");
    if (text == null) {
      return DEFAULT_CALL_TIMEOUT;
    }
    Optional<Duration> parsed = dev.worka.gateway.policy.DurationText.parse(text);
    if (parsed.isEmpty()
        || parsed.get().compareTo(Duration.ofSeconds(1)) < 0
        || parsed.get().compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException(
          "WORKA_SKILL_TIMEOUT=" + text + " must be a duration from 1s to 10m, e.g. 30s");
    }
    return parsed.get();
  }

  @Override
  public Duration callTimeout() {
    return callTimeout;
  }

  static Optional<GithubMcpEndpoint> endpointFrom(Map<String, String> environment) {
    String url = value(environment, "GITHUB_MCP_URL");
    String command = value(environment, "GITHUB_MCP_COMMAND");
    String token = value(environment, "GITHUB_TOKEN");
    if (url != null) {
      URI uri;
      try {
        uri = URI.create(url);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("GITHUB_MCP_URL is not a URL");
      }
      return Optional.of(new GithubMcpEndpoint.Http(uri, token));
    }
    if (command != null) {
      Map<String, String> env = new LinkedHashMap<>();
      for (String name : PASSED_TO_STDIO_SERVER) {
        String v = value(environment, name);
        if (v != null) {
          env.put(name, v);
        }
      }
      return Optional.of(new GithubMcpEndpoint.Stdio(List.of(command.split("\\s+")), token, env));
    }
    return Optional.empty();
  }

  private static String value(Map<String, String> environment, String name) {
    String v = environment.get(name);
    return v == null || v.isBlank() ? null : v.strip();
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
    Session s = connectIfDue(false);
    return s != null ? new Availability.Available() : new Availability.Unavailable(downReason);
  }

  @Override
  public Availability availability(SkillDefinition skill) {
    Session s = connectIfDue(false);
    if (s == null) {
      return new Availability.Unavailable(downReason);
    }
    return s.route(action(skill))
        .<Availability>map(
            r ->
                r.problem() == null
                    ? new Availability.Available()
                    : new Availability.Unavailable(
                        skill.name() + " is unavailable: " + r.problem()))
        .orElseGet(() -> new Availability.Unavailable(missingTool(skill)));
  }

  @Override
  public JsonNode invoke(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    Objects.requireNonNull(ctx, "ctx");
    Session s = connectForCall();
    if (s == null) {
      throw new SkillUnavailableException(skill.name(), downReason);
    }
    ResolvedRoute route =
        s.route(action(skill))
            .orElseThrow(() -> new SkillUnavailableException(skill.name(), missingTool(skill)));
    if (route.problem() != null) {
      throw new SkillUnavailableException(skill.name(), route.problem());
    }
    if (!(input instanceof ObjectNode object)) {
      throw new SkillFailedException(skill.name(), "input must be a JSON object", false);
    }
    ObjectNode arguments = route.arguments(object);
    if (carriesMarker(skill)) {
      // What is posted mentions nobody and hides no link (GithubText), then carries the marker.
      if (arguments.path("title").isTextual()) {
        arguments.put("title", GithubText.inertTitle(arguments.get("title").asText()));
      }
      if (arguments.path("body").isTextual()) {
        arguments.put("body", GithubText.inert(arguments.get("body").asText()));
      }
      arguments.put("body", withMarker(arguments.path("body"), ctx.marker()));
    }
    List<String> violations = route.schema().violations(arguments);
    if (!violations.isEmpty()) {
      throw new SkillFailedException(
          skill.name(),
          redact(
              "input does not match the input schema of "
                  + "GitHub MCP tool "
                  + route.tool()
                  + ": "
                  + String.join("; ", violations)),
          false);
    }
    McpSchema.CallToolResult result = call(s, skill, route.tool(), arguments, ctx);
    return output(skill.name(), route.tool(), result);
  }

  @Override
  public Optional<String> upstreamRef(SkillDefinition skill, JsonNode output) {
    if (output == null) {
      return Optional.empty();
    }
    for (String field : List.of("html_url", "url")) {
      JsonNode value = output.path(field);
      if (value.isTextual() && value.asText().startsWith("http")) {
        return Optional.of(value.asText());
      }
    }
    return Optional.empty();
  }

  /**
   * Looks, read-only, for the effect of an earlier call of {@code skill} under {@code ctx}: the
   * issue or comment carrying {@code ctx.marker()}.
   *
   * <p>It lists (the repository's issues newest first, the issue's comments) rather than searching:
   * GitHub's search index lags behind writes by seconds to minutes, so a search right after a crash
   * could miss an issue that exists and answer "not performed" — and the mediator would then create
   * it a second time. A listing reads the primary store.
   */
  @Override
  public Reconciliation reconcile(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    if (!skill.sideEffect()) {
      return new Reconciliation.NotPerformed(
          skill.name() + " has no side effect upstream: repeating it is harmless");
    }
    String action = action(skill);
    if (!action.equals("create_issue") && !action.equals("add_issue_comment")) {
      return new Reconciliation.Unknown(
          skill.name() + " leaves no marker upstream, so an earlier call cannot be looked up");
    }
    Session s = connectForCall();
    if (s == null) {
      return new Reconciliation.Unknown(downReason);
    }
    String owner = input.path("owner").asText();
    String repo = input.path("repo").asText();
    String marker = ctx.marker();
    try {
      return action.equals("create_issue")
          ? findIssue(s, skill, owner, repo, marker, ctx)
          : findComment(s, skill, owner, repo, input.path("issue_number").asLong(), marker, ctx);
    } catch (SkillFailedException | SkillUnavailableException e) {
      return new Reconciliation.Unknown("looking for " + marker + " failed: " + e.getMessage());
    }
  }

  /** Ends the session; for stdio, the child process and its descendants. Idempotent. */
  @Override
  public void close() {
    closed = true;
    connecting.lock();
    try {
      Session s = session;
      session = null;
      downReason = "the GitHub provider is closed";
      if (s != null) {
        s.close();
      }
    } finally {
      connecting.unlock();
    }
  }

  @Override
  public String toString() {
    return "McpGithubProvider[" + endpoint + ", " + (session != null ? "connected" : "down") + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Connecting

  /** The session, connecting first when there is none and an attempt is due; null when down. */
  private Session connectIfDue(boolean wait) {
    Session s = session;
    if (s != null || closed) {
      return s;
    }
    if (clock.instant().isBefore(nextAttempt)) {
      return null;
    }
    boolean locked;
    try {
      locked =
          wait
              ? connecting.tryLock(connectTimeout.toMillis() * 2 + 1000, TimeUnit.MILLISECONDS)
              : connecting.tryLock();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return session;
    }
    if (!locked) {
      return session;
    }
    try {
      if (session != null || closed || clock.instant().isBefore(nextAttempt)) {
        return session;
      }
      try {
        Session opened = open();
        session = opened;
        backoff = INITIAL_BACKOFF;
        downReason = null;
        log.info(
            "GitHub MCP: connected to {} ({}), {} tools; {}",
            endpoint.describe(),
            opened.serverName,
            opened.tools.size(),
            opened.summary(skills()));
        return opened;
      } catch (RuntimeException e) {
        Instant retry = clock.instant().plus(backoff);
        downReason =
            endpoint.describe()
                + " "
                + describeFailure(e)
                + "; "
                + endpoint.whatToCheck()
                + " (retried on the next use after "
                + retry
                + ")";
        nextAttempt = retry;
        backoff =
            backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
                ? MAX_BACKOFF
                : backoff.multipliedBy(2);
        log.warn("GitHub MCP: {}", downReason);
        return null;
      }
    } finally {
      connecting.unlock();
    }
  }

  private Session connectForCall() {
    return connectIfDue(true);
  }

  private Session open() {
    McpClientTransport transport;
    ScrubbedStdioTransport stdio = null;
    switch (endpoint) {
      case GithubMcpEndpoint.Http http -> {
        URI url = http.url();
        String base = url.getScheme() + "://" + url.getRawAuthority();
        String path =
            url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        if (url.getRawQuery() != null) {
          path += "?" + url.getRawQuery();
        }
        String token = http.token();
        HttpClientStreamableHttpTransport.Builder builder =
            HttpClientStreamableHttpTransport.builder(base)
                .endpoint(path)
                .connectTimeout(connectTimeout)
                .openConnectionOnStartup(false);
        if (token != null) {
          builder.addHttpRequestCustomizer(
              (request, method, uri, body, context) ->
                  request.header("Authorization", "Bearer " + token));
        }
        transport = builder.build();
      }
      case GithubMcpEndpoint.Stdio command -> {
        Map<String, String> env = new LinkedHashMap<>(command.environment());
        if (command.token() != null) {
          env.put(STDIO_TOKEN_VARIABLE, command.token());
        }
        ServerParameters parameters =
            ServerParameters.builder(command.argv().get(0))
                .args(command.argv().subList(1, command.argv().size()))
                .env(env)
                .build();
        stdio = new ScrubbedStdioTransport(parameters);
        stdio.setStdErrorHandler(line -> log.info("GitHub MCP server: {}", redact(line)));
        transport = stdio;
      }
    }
    McpSyncClient client =
        McpClient.sync(transport)
            .clientInfo(McpSchema.Implementation.builder("worka-gateway", "0.1.0").build())
            .initializationTimeout(connectTimeout)
            .requestTimeout(callTimeout)
            .jsonSchemaValidator(new ToolSchema.ForMcp())
            .build();
    Session opened = new Session(client, stdio);
    try {
      McpSchema.InitializeResult init = client.initialize();
      opened.serverName =
          init.serverInfo() == null
              ? "unnamed server"
              : init.serverInfo().name() + " " + init.serverInfo().version();
      Map<String, McpSchema.Tool> tools = new LinkedHashMap<>();
      McpSchema.ListToolsResult page = client.listTools();
      for (int i = 0; page != null; i++) {
        page.tools().forEach(t -> tools.put(t.name(), t));
        String cursor = page.nextCursor();
        if (cursor == null || cursor.isEmpty() || i >= MAX_TOOL_PAGES) {
          break;
        }
        page = client.listTools(cursor);
      }
      opened.setTools(tools);
      return opened;
    } catch (RuntimeException e) {
      opened.close();
      throw e;
    }
  }

  /** Forgets {@code broken} (if it is still the session) so that the next use connects again. */
  private void drop(Session broken, String why) {
    connecting.lock();
    try {
      if (session == broken) {
        session = null;
        downReason = endpoint.describe() + " " + why + "; " + endpoint.whatToCheck();
        nextAttempt = Instant.MIN;
        log.warn("GitHub MCP: dropping the session: {}", downReason);
        Thread.ofVirtual().name("github-mcp-close").start(broken::close);
      }
    } finally {
      connecting.unlock();
    }
  }

  private String describeFailure(Throwable e) {
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

  // ---------------------------------------------------------------------------------------------
  // Calling

  private McpSchema.CallToolResult call(
      Session s, SkillDefinition skill, String tool, ObjectNode arguments, InvocationContext ctx) {
    Map<String, Object> args = Json.STRICT.convertValue(arguments, new TypeReference<>() {});
    try {
      return s.client.callTool(McpSchema.CallToolRequest.builder(tool).arguments(args).build());
    } catch (RuntimeException e) {
      throw failure(s, skill, tool, e, ctx);
    }
  }

  private SkillFailedException failure(
      Session s, SkillDefinition skill, String tool, RuntimeException e, InvocationContext ctx) {
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
      return refused ? safeFailure(name, text, false, e) : uncertain(skill, text + unknown, e);
    }
    if (find(e, TimeoutException.class).isPresent()
        || chainMentions(e, "Did not observe any item")) {
      return uncertain(
          skill,
          "GitHub MCP tool "
              + tool
              + " did not answer within "
              + callTimeout.toSeconds()
              + "s"
              + unknown,
          e);
    }
    if (find(e, ConnectException.class).isPresent()) {
      drop(s, "cannot be reached (connection refused)");
      return safeFailure(
          name,
          "GitHub MCP tool "
              + tool
              + " could not be called: "
              + endpoint.describe()
              + " cannot be reached (connection refused; the call was not sent)",
          true,
          e);
    }
    drop(s, "broke the session (" + e.getClass().getSimpleName() + ")");
    return uncertain(
        skill,
        "calling GitHub MCP tool "
            + tool
            + " failed ("
            + e.getClass().getSimpleName()
            + ": "
            + clip(redact(String.valueOf(e.getMessage())), 300)
            + ")"
            + unknown,
        e);
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

  private JsonNode output(String skill, String tool, McpSchema.CallToolResult result) {
    if (result == null) {
      throw new SkillFailedException(
          skill, "GitHub MCP tool " + tool + " returned no result", true);
    }
    if (Boolean.TRUE.equals(result.isError())) {
      String text = texts(result).stream().reduce((a, b) -> a + " " + b).orElse("(no message)");
      throw new SkillFailedException(
          skill,
          "GitHub MCP tool " + tool + " answered with an error: " + clip(redact(text), 1000),
          RETRYABLE_ERROR.matcher(text).find());
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

  /** Calls a read-only lookup tool (for reconciliation); fails like a skill call would. */
  private JsonNode lookup(
      Session s,
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
    Map<String, Object> args = Json.STRICT.convertValue(arguments, new TypeReference<>() {});
    McpSchema.CallToolResult result;
    try {
      result =
          s.client.callTool(
              McpSchema.CallToolRequest.builder(route.tool()).arguments(args).build());
    } catch (RuntimeException e) {
      throw failure(s, lookupSkill(skill), route.tool(), e, ctx);
    }
    return output(skill.name(), route.tool(), result);
  }

  /** The same skill seen as read-only, so a failed lookup does not claim an unknown effect. */
  private static SkillDefinition lookupSkill(SkillDefinition skill) {
    return new SkillDefinition(
        skill.name(), skill.provider(), skill.description(), skill.inputSchema(), false);
  }

  // ---------------------------------------------------------------------------------------------
  // Reconciling

  private Reconciliation findIssue(
      Session s,
      SkillDefinition skill,
      String owner,
      String repo,
      String marker,
      InvocationContext ctx) {
    Optional<ResolvedRoute> found = s.resolve(LIST_ISSUES);
    if (found.isEmpty() || found.get().problem() != null) {
      return new Reconciliation.Unknown(
          endpoint.describe()
              + " offers no usable list_issues tool to look"
              + " for "
              + marker
              + found.map(r -> " (" + r.problem() + ")").orElse(""));
    }
    ResolvedRoute route = found.get();
    boolean cursorPaging = route.schema().hasProperty("after");
    String cursor = null;
    int seen = 0;
    for (int page = 1; page <= RECONCILE_PAGES; page++) {
      ObjectNode args =
          route.arguments(Json.STRICT.createObjectNode().put("owner", owner).put("repo", repo));
      putIfKnown(route, args, "perPage", PAGE_SIZE);
      if (route.schema().hasProperty("orderBy")) { // GraphQL-backed list_issues (current server)
        putIfKnown(route, args, "orderBy", "CREATED_AT");
        putIfKnown(route, args, "direction", "DESC");
      } else { // REST-backed list_issues (older server)
        if (route.schema().enumOf("state").contains("all")) {
          args.put("state", "all");
        }
        putIfKnown(route, args, "sort", "created");
        putIfKnown(route, args, "direction", "desc");
      }
      if (cursorPaging) {
        if (cursor != null) {
          args.put("after", cursor);
        }
      } else {
        putIfKnown(route, args, "page", page);
      }
      JsonNode answer = lookup(s, skill, route, args, ctx);
      JsonNode issues = items(answer, "issues");
      for (JsonNode issue : issues) {
        seen++;
        if (issue.path("body").asText("").contains(marker)) {
          return performedIssue(owner, repo, issue);
        }
      }
      JsonNode pageInfo = answer.path("pageInfo");
      if (cursorPaging) {
        cursor = pageInfo.path("endCursor").asText(null);
        if (!pageInfo.path("hasNextPage").asBoolean(false) || cursor == null) {
          break;
        }
      } else if (issues.size() < PAGE_SIZE) {
        break;
      }
    }
    return new Reconciliation.NotPerformed(
        "no issue in "
            + owner
            + "/"
            + repo
            + " carries "
            + marker
            + " among the "
            + seen
            + " newest (read with "
            + route.tool()
            + ")");
  }

  private static Reconciliation performedIssue(String owner, String repo, JsonNode issue) {
    ObjectNode output = Json.STRICT.createObjectNode();
    String url = firstUrl(issue).orElse(null);
    JsonNode id = issue.path("id");
    if (!id.isMissingNode() && !id.isNull()) {
      output.put("id", id.asText());
    }
    if (url != null) {
      output.put("url", url);
      output.put("html_url", url);
    }
    if (issue.path("number").canConvertToLong()) {
      output.put("number", issue.path("number").asLong());
    }
    if (issue.path("title").isTextual()) {
      output.put("title", issue.path("title").asText());
    }
    String ref = url != null ? url : owner + "/" + repo + "#" + issue.path("number").asText("?");
    return new Reconciliation.Performed(output, ref);
  }

  private Reconciliation findComment(
      Session s,
      SkillDefinition skill,
      String owner,
      String repo,
      long issueNumber,
      String marker,
      InvocationContext ctx) {
    Optional<ResolvedRoute> found = s.resolve(LIST_COMMENTS);
    if (found.isEmpty() || found.get().problem() != null) {
      return new Reconciliation.Unknown(
          endpoint.describe()
              + " offers no usable get_issue_comments"
              + " (or issue_read) tool to look for "
              + marker
              + found.map(r -> " (" + r.problem() + ")").orElse(""));
    }
    ResolvedRoute route = found.get();
    int seen = 0;
    for (int page = 1; page <= RECONCILE_PAGES; page++) {
      ObjectNode args =
          route.arguments(
              Json.STRICT
                  .createObjectNode()
                  .put("owner", owner)
                  .put("repo", repo)
                  .put("issue_number", issueNumber));
      putIfKnown(route, args, "perPage", PAGE_SIZE);
      putIfKnown(route, args, "page", page);
      JsonNode comments = items(lookup(s, skill, route, args, ctx), "comments");
      for (JsonNode comment : comments) {
        seen++;
        if (comment.path("body").asText("").contains(marker)) {
          ObjectNode output = Json.STRICT.createObjectNode();
          String url = firstUrl(comment).orElse(null);
          if (comment.has("id")) {
            output.put("id", comment.path("id").asText());
          }
          if (url != null) {
            output.put("url", url);
            output.put("html_url", url);
          }
          return new Reconciliation.Performed(
              output,
              url != null
                  ? url
                  : owner
                      + "/"
                      + repo
                      + "#"
                      + issueNumber
                      + " comment "
                      + comment.path("id").asText("?"));
        }
      }
      if (comments.size() < PAGE_SIZE || !route.schema().hasProperty("page")) {
        return new Reconciliation.NotPerformed(
            "no comment on "
                + owner
                + "/"
                + repo
                + "#"
                + issueNumber
                + " carries "
                + marker
                + " (all "
                + seen
                + " read with "
                + route.tool()
                + ")");
      }
    }
    // Comments come oldest first: past the bound the newest were not read, so absence proves
    // nothing.
    return new Reconciliation.Unknown(
        owner
            + "/"
            + repo
            + "#"
            + issueNumber
            + " has more than "
            + seen
            + " comments; the first "
            + seen
            + " do not carry "
            + marker
            + " and the rest were not read");
  }

  private static JsonNode items(JsonNode answer, String field) {
    if (answer.path("result").isArray()) {
      return answer.path("result");
    }
    if (answer.path(field).isArray()) {
      return answer.path(field);
    }
    if (answer.path("items").isArray()) {
      return answer.path("items");
    }
    return Json.STRICT.createArrayNode();
  }

  private static Optional<String> firstUrl(JsonNode node) {
    for (String field : List.of("html_url", "url")) {
      JsonNode value = node.path(field);
      if (value.isTextual() && value.asText().startsWith("http")) {
        return Optional.of(value.asText());
      }
    }
    return Optional.empty();
  }

  private static void putIfKnown(ResolvedRoute route, ObjectNode args, String name, Object value) {
    if (route.schema().hasProperty(name)) {
      args.set(name, Json.STRICT.valueToTree(value));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private static String action(SkillDefinition skill) {
    return skill.name().substring(skill.name().indexOf('.') + 1);
  }

  private static boolean carriesMarker(SkillDefinition skill) {
    String action = action(skill);
    return skill.sideEffect()
        && (action.equals("create_issue") || action.equals("add_issue_comment"));
  }

  /** {@code body} followed by the invisible marker comment. */
  static String withMarker(JsonNode body, String marker) {
    String comment = "<!-- " + marker + " -->";
    String text = body == null || body.isNull() || body.isMissingNode() ? "" : body.asText();
    return text.isEmpty() ? comment : text + "\n\n" + comment;
  }

  private String missingTool(SkillDefinition skill) {
    List<String> tools =
        ROUTES.getOrDefault(action(skill), List.of(new Route(action(skill), Map.of()))).stream()
            .map(Route::tool)
            .toList();
    return skill.name()
        + " is unavailable: "
        + endpoint.describe()
        + " offers no tool "
        + String.join(" (nor ", tools)
        + ")".repeat(tools.size() - 1)
        + "; check the server's version and enabled toolsets (GITHUB_TOOLSETS) and whether it runs"
        + " read-only";
  }

  private String redact(String text) {
    String token = endpoint.token();
    return token == null || text == null ? text : text.replace(token, "[redacted]");
  }

  private boolean mentionsToken(Throwable e) {
    String token = endpoint.token();
    for (Throwable t = e; t != null && token != null; t = t.getCause() == t ? null : t.getCause()) {
      if (String.valueOf(t.getMessage()).contains(token) || String.valueOf(t).contains(token)) {
        return true;
      }
    }
    return false;
  }

  private static <T extends Throwable> Optional<T> find(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return Optional.of(type.cast(t));
      }
    }
    return Optional.empty();
  }

  private static boolean chainMentions(Throwable e, String text) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (String.valueOf(t.getMessage()).contains(text)) {
        return true;
      }
    }
    return false;
  }

  private static String clip(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max) + "…";
  }

  private static Duration requirePositive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, was " + d);
    }
    return d;
  }

  // ---------------------------------------------------------------------------------------------
  // A connected session

  /**
   * A route resolved against the server's tools: the tool, its schema, or why it cannot be used.
   */
  record ResolvedRoute(
      String tool, Map<String, Object> fixedArguments, ToolSchema schema, String problem) {
    /** {@code input} plus the route's fixed arguments, and {@code show_ui: false} where offered. */
    ObjectNode arguments(ObjectNode input) {
      ObjectNode args = input.deepCopy();
      fixedArguments.forEach((k, v) -> args.set(k, Json.STRICT.valueToTree(v)));
      if (schema != null && schema.hasProperty("show_ui")) {
        args.put("show_ui", false); // github-mcp-server's issue_write would render a form otherwise
      }
      return args;
    }
  }

  private static final class Session {
    static final Duration GRACE = Duration.ofSeconds(2);
    final McpSyncClient client;
    final ScrubbedStdioTransport stdio;
    volatile String serverName = "";
    volatile Map<String, ResolvedRoute> tools = Map.of();

    Session(McpSyncClient client, ScrubbedStdioTransport stdio) {
      this.client = client;
      this.stdio = stdio;
    }

    void setTools(Map<String, McpSchema.Tool> listed) {
      Map<String, ResolvedRoute> compiled = new LinkedHashMap<>();
      listed.forEach(
          (name, tool) -> {
            try {
              compiled.put(
                  name,
                  new ResolvedRoute(name, Map.of(), ToolSchema.compile(tool.inputSchema()), null));
            } catch (IllegalArgumentException e) {
              compiled.put(
                  name,
                  new ResolvedRoute(
                      name,
                      Map.of(),
                      null,
                      "the input schema of GitHub MCP tool "
                          + name
                          + " cannot be used: "
                          + e.getMessage()));
            }
          });
      this.tools = Map.copyOf(compiled);
    }

    Optional<ResolvedRoute> route(String action) {
      return resolve(ROUTES.getOrDefault(action, List.of(new Route(action, Map.of()))));
    }

    /** The first route whose tool the server offers, with its fixed arguments. */
    Optional<ResolvedRoute> resolve(List<Route> routes) {
      for (Route r : routes) {
        ResolvedRoute tool = tools.get(r.tool());
        if (tool != null) {
          if (tool.problem() == null && !r.fixedArguments().isEmpty()) {
            Object method = r.fixedArguments().get("method");
            if (method != null
                && !tool.schema().enumOf("method").isEmpty()
                && !tool.schema().enumOf("method").contains(method.toString())) {
              continue; // a consolidated tool of another shape: this version lacks the method
            }
          }
          return Optional.of(
              new ResolvedRoute(tool.tool(), r.fixedArguments(), tool.schema(), tool.problem()));
        }
      }
      return Optional.empty();
    }

    String summary(List<SkillDefinition> skills) {
      List<String> missing = new ArrayList<>();
      List<String> mapped = new ArrayList<>();
      for (SkillDefinition skill : skills) {
        String action = action(skill);
        Optional<ResolvedRoute> r = route(action);
        if (r.isEmpty() || r.get().problem() != null) {
          missing.add(skill.name());
        } else if (!r.get().tool().equals(action)) {
          mapped.add(skill.name() + " → " + r.get().tool());
        }
      }
      return (missing.isEmpty() ? "every skill has its tool" : "no tool for " + missing)
          + (mapped.isEmpty() ? "" : "; consolidated tools used: " + mapped);
    }

    /**
     * Ends the session politely for at most {@link #GRACE}, then not; for stdio, kills the child
     * tree.
     */
    void close() {
      try {
        // The SDK waits up to 10 s for a graceful close, e.g. on a server that is gone: too long
        // for
        // a Gateway shutdown.
        Thread graceful =
            Thread.ofVirtual()
                .name("github-mcp-close")
                .start(
                    () -> {
                      try {
                        client.closeGracefully();
                      } catch (RuntimeException e) {
                        log.debug("closing the GitHub MCP session: {}", e.toString());
                      }
                    });
        if (!graceful.join(GRACE)) {
          client.close();
        }
      } catch (InterruptedException e) {
        client.close();
        Thread.currentThread().interrupt();
      } finally {
        if (stdio != null) {
          stdio.killProcessTree(Duration.ofSeconds(3));
        }
      }
    }
  }
}
