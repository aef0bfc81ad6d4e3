package dev.worka.gateway.skill.github;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.config.GithubSettings;
import dev.worka.gateway.skill.Availability;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillProvider.Reconciliation;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.protocol.Json;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link McpGithubProvider} against {@link CountingGithubMcpServer} over streamable HTTP: a real
 * MCP SDK client talking to a real MCP SDK server, nothing mocked.
 */
class McpGithubProviderTest {
  static final String TOKEN = "ghp-test-Secret-Token-0123456789";
  static final Duration CONNECT = Duration.ofSeconds(5);
  static final Duration CALL = Duration.ofSeconds(5);

  final SkillProvider catalog = CatalogOnlyProvider.github(true);
  final SettableClock clock = new SettableClock();

  /** Every message and reason a test saw, checked for the token after each test. */
  final List<String> seen = new ArrayList<>();

  final List<AutoCloseable> toClose = new ArrayList<>();

  /**
   * Where a test makes a call it lets block: not the common pool, which has one thread on two cores
   * and which the SDK's HTTP client also uses for its responses (a blocked caller there would
   * starve every other MCP session of this JVM).
   */
  final java.util.concurrent.ExecutorService callers =
      java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

  @AfterEach
  void closeAndCheckNoTokenLeaked() throws Exception {
    callers.shutdownNow();
    for (AutoCloseable c : toClose.reversed()) {
      c.close();
    }
    for (String text : seen) {
      assertFalse(text.contains(TOKEN), "the token leaked into: " + text);
    }
  }

  CountingGithubMcpServer server(Set<String> without) throws Exception {
    CountingGithubMcpServer server = CountingGithubMcpServer.http(0, TOKEN, without);
    toClose.add(server);
    return server;
  }

  McpGithubProvider provider(String url, String token) {
    McpGithubProvider provider =
        new McpGithubProvider(
            catalog, new GithubMcpEndpoint.Http(URI.create(url), token), CONNECT, CALL, clock);
    toClose.add(provider);
    return provider;
  }

  McpGithubProvider provider(String url, String token, Duration callTimeout) {
    McpGithubProvider provider =
        new McpGithubProvider(
            catalog,
            new GithubMcpEndpoint.Http(URI.create(url), token),
            CONNECT,
            callTimeout,
            clock);
    toClose.add(provider);
    return provider;
  }

  SkillDefinition skill(String name) {
    return catalog.skills().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
  }

  static InvocationContext ctx() {
    return new InvocationContext(
        UUID.randomUUID(), UUID.randomUUID(), "ernest", UUID.randomUUID(), null);
  }

  static ObjectNode input(String json) {
    return (ObjectNode) Json.parse(json);
  }

  String reason(Availability availability) {
    Availability.Unavailable unavailable =
        assertInstanceOf(Availability.Unavailable.class, availability);
    seen.add(unavailable.reason());
    return unavailable.reason();
  }

  <T extends Throwable> T expect(Class<T> type, org.junit.jupiter.api.function.Executable call) {
    T e = assertThrows(type, call);
    for (Throwable t = e; t != null; t = t.getCause()) {
      seen.add(String.valueOf(t.getMessage()));
      seen.add(t.toString());
    }
    return e;
  }

  Reconciliation reconcile(
      McpGithubProvider provider, String skill, JsonNode input, InvocationContext ctx) {
    Reconciliation answer = provider.reconcile(skill(skill), input, ctx);
    seen.add(answer.toString());
    return answer;
  }

  static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void connectsListsToolsAndOnlyTheSkillWithoutAToolIsUnavailable() throws Exception {
    CountingGithubMcpServer server = server(Set.of());
    McpGithubProvider github = provider(server.url(), TOKEN);

    assertInstanceOf(Availability.Available.class, github.availability());
    for (String skill :
        List.of(
            "github.search_issues",
            "github.get_issue",
            "github.create_issue",
            "github.add_issue_comment")) {
      assertInstanceOf(Availability.Available.class, github.availability(skill(skill)), skill);
    }
    // The counting server, like github-mcp-server, has no delete_repository tool.
    String reason = reason(github.availability(skill("github.delete_repository")));
    assertTrue(reason.contains("delete_repository") && reason.contains("offers no tool"), reason);
    SkillUnavailableException e =
        expect(
            SkillUnavailableException.class,
            () ->
                github.invoke(
                    skill("github.delete_repository"),
                    input("{\"owner\":\"acme\",\"repo\":\"widgets\"}"),
                    ctx()));
    assertTrue(e.reason().contains("delete_repository"), e.reason());
  }

  @Test
  void aMissingToolMakesOnlyItsSkillUnavailableNamingTheTool() throws Exception {
    CountingGithubMcpServer server = server(Set.of("create_issue"));
    McpGithubProvider github = provider(server.url(), TOKEN);

    String reason = reason(github.availability(skill("github.create_issue")));
    assertTrue(reason.contains("create_issue") && reason.contains("issue_write"), reason);
    assertInstanceOf(Availability.Available.class, github.availability(skill("github.get_issue")));
    assertInstanceOf(
        Availability.Available.class, github.availability(skill("github.add_issue_comment")));
    assertInstanceOf(Availability.Available.class, github.availability());
    expect(
        SkillUnavailableException.class,
        () ->
            github.invoke(
                skill("github.create_issue"),
                input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"t\"}"),
                ctx()));
    assertEquals(0, server.calls("create_issue"));
  }

  @Test
  void createIssueCarriesTheInvisibleMarkerAndAnswersWithTheIssueUrl() throws Exception {
    CountingGithubMcpServer server = server(Set.of());
    McpGithubProvider github = provider(server.url(), TOKEN);
    InvocationContext ctx = ctx();

    JsonNode out =
        github.invoke(
            skill("github.create_issue"),
            input(
                "{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"Flaky build\",\"body\":\"It fails.\","
                    + "\"labels\":[\"bug\"]}"),
            ctx);

    assertEquals(1, server.effects("create_issue"));
    CountingGithubMcpServer.Issue issue = server.issues("acme", "widgets").get(0);
    assertEquals("It fails.\n\n<!-- worka-invocation:" + ctx.invocationId() + " -->", issue.body());
    assertEquals(List.of("bug"), issue.labels());
    String url = "https://github.test/acme/widgets/issues/1";
    assertEquals(url, out.path("url").asText(), out.toString());
    assertEquals(java.util.Optional.of(url), github.upstreamRef(skill("github.create_issue"), out));

    // A comment carries it too; a body-less issue gets the marker alone.
    InvocationContext commentCtx = ctx();
    JsonNode comment =
        github.invoke(
            skill("github.add_issue_comment"),
            input(
                "{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":1,\"body\":\"Seen again\"}"),
            commentCtx);
    assertTrue(
        github
            .upstreamRef(skill("github.add_issue_comment"), comment)
            .orElseThrow()
            .startsWith(url + "#issuecomment-"),
        comment.toString());
    InvocationContext bare = ctx();
    github.invoke(
        skill("github.create_issue"),
        input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"x\"}"),
        bare);
    assertEquals("<!-- " + bare.marker() + " -->", server.issues("acme", "widgets").get(1).body());

    // Reads are passed through as the tool answers them.
    JsonNode read =
        github.invoke(
            skill("github.get_issue"),
            input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":1}"),
            ctx());
    assertEquals("Flaky build", read.path("title").asText(), read.toString());
    JsonNode found =
        github.invoke(skill("github.search_issues"), input("{\"query\":\"flaky\"}"), ctx());
    assertEquals(1, found.path("total_count").asInt(), found.toString());
    assertEquals(2, server.effects("create_issue"));
    assertEquals(1, server.effects("add_issue_comment"));
  }

  @Test
  void anInputTheToolsSchemaRefusesNeverReachesTheServer() throws Exception {
    CountingGithubMcpServer server = server(Set.of());
    McpGithubProvider github = provider(server.url(), TOKEN);

    SkillFailedException e =
        expect(
            SkillFailedException.class,
            () ->
                github.invoke(
                    skill("github.create_issue"),
                    input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":42}"),
                    ctx()));
    assertFalse(e.retryable());
    assertTrue(
        e.getMessage().contains("$.title") && e.getMessage().contains("create_issue"),
        e.getMessage());
    SkillFailedException missing =
        expect(
            SkillFailedException.class,
            () ->
                github.invoke(
                    skill("github.get_issue"),
                    input("{\"owner\":\"acme\",\"repo\":\"widgets\"}"),
                    ctx()));
    assertTrue(missing.getMessage().contains("issue_number"), missing.getMessage());
    assertEquals(0, server.calls("create_issue"));
    assertEquals(0, server.calls("get_issue"));
  }

  /**
   * A hostile server lists tools whose schemas point outside themselves (a foreign {@code $schema},
   * a remote {@code $ref}): their skills are unavailable, saying why, and nothing is fetched (a
   * local server counts requests). Its patterns match whole values: an owner with a trailing
   * newline is refused before the call reaches the server.
   */
  @Test
  void toolSchemasThatReferOutsideAreRefusedWithoutFetchingAndPatternsMatchWholeValues()
      throws Exception {
    java.util.concurrent.atomic.AtomicInteger fetches =
        new java.util.concurrent.atomic.AtomicInteger();
    com.sun.net.httpserver.HttpServer schemaHost =
        com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    schemaHost.createContext(
        "/",
        exchange -> {
          fetches.incrementAndGet();
          byte[] body = "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    schemaHost.start();
    toClose.add(() -> schemaHost.stop(0));
    String host = "http://127.0.0.1:" + schemaHost.getAddress().getPort();
    CountingGithubMcpServer server =
        CountingGithubMcpServer.httpWithSchemas(
            TOKEN,
            java.util.Map.of(
                "create_issue",
                    "{\"$schema\":\"" + host + "/meta\",\"type\":\"object\",\"properties\":{}}",
                "get_issue",
                    "{\"type\":\"object\",\"properties\":{\"owner\":{\"$ref\":\""
                        + host
                        + "/owner.json\"}}}",
                "add_issue_comment",
                    "{\"type\":\"object\",\"required\":[\"owner\",\"repo\",\"issue_number\",\"body\"],"
                        + "\"properties\":{\"owner\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"},"
                        + "\"repo\":{\"type\":\"string\"},\"issue_number\":{\"type\":\"number\"},\"body\":{\"type\":\"string\"}}}"));
    toClose.add(server);
    McpGithubProvider github = provider(server.url(), TOKEN);

    String foreign = reason(github.availability(skill("github.create_issue")));
    assertTrue(
        foreign.contains("create_issue")
            && foreign.contains("refers outside itself")
            && foreign.contains("$schema"),
        foreign);
    String remote = reason(github.availability(skill("github.get_issue")));
    assertTrue(remote.contains("get_issue") && remote.contains("$ref"), remote);
    expect(
        SkillUnavailableException.class,
        () ->
            github.invoke(
                skill("github.create_issue"),
                input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"t\"}"),
                ctx()));
    assertInstanceOf(
        Availability.Available.class, github.availability(skill("github.search_issues")));

    SkillFailedException newline =
        expect(
            SkillFailedException.class,
            () ->
                github.invoke(
                    skill("github.add_issue_comment"),
                    input(
                        "{\"owner\":\"acme\\n\",\"repo\":\"widgets\",\"issue_number\":1,\"body\":\"b\"}"),
                    ctx()));
    assertTrue(newline.getMessage().contains("$.owner"), newline.getMessage());
    assertEquals(0, server.calls("add_issue_comment"));
    assertEquals(0, server.calls("create_issue"));
    assertEquals(0, fetches.get(), "the Gateway fetched a schema");
  }

  @Test
  void anErrorAnswerFailsTheCallWithoutTheTokenAndRateLimitsAreRetryable() throws Exception {
    CountingGithubMcpServer server = server(Set.of());
    McpGithubProvider github = provider(server.url(), TOKEN);

    // The server's 404 text echoes the repository name; here that is the token, which must not
    // come back in the message.
    SkillFailedException e =
        expect(
            SkillFailedException.class,
            () ->
                github.invoke(
                    skill("github.get_issue"),
                    input("{\"owner\":\"acme\",\"repo\":\"" + TOKEN + "\",\"issue_number\":7}"),
                    ctx()));
    assertFalse(e.retryable(), e.getMessage());
    assertTrue(
        e.getMessage().contains("404") && e.getMessage().contains("[redacted]"), e.getMessage());
    assertEquals(1, server.calls("get_issue"));
  }

  @Test
  void aTimeoutOfASideEffectSaysTheOutcomeIsUnknownAndReconcileFindsTheEffect() throws Exception {
    CountingGithubMcpServer server = server(Set.of());
    McpGithubProvider github = provider(server.url(), TOKEN, Duration.ofSeconds(1));
    InvocationContext ctx = ctx();
    ObjectNode in = input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"Lost answer\"}");

    CountingGithubMcpServer.Block block =
        server.blockNextCall("create_issue", CountingGithubMcpServer.Phase.AFTER_EFFECT);
    SkillFailedException e;
    try {
      e =
          expect(
              SkillFailedException.class,
              () -> github.invoke(skill("github.create_issue"), in, ctx));
      assertTrue(block.isBlocked());
    } finally {
      block.release();
    }
    assertInstanceOf(
        dev.worka.gateway.skill.SkillOutcomeUnknownException.class,
        e,
        "not a plain failure: the mediator must reconcile before any repeat");
    assertTrue(!e.retryable(), "never repeated blindly");
    assertTrue(
        e.getMessage().contains("outcome is unknown") && e.getMessage().contains(ctx.marker()),
        e.getMessage());
    assertEquals(1, server.effects("create_issue"));

    Reconciliation found = reconcile(github, "github.create_issue", in, ctx);
    Reconciliation.Performed performed = assertInstanceOf(Reconciliation.Performed.class, found);
    assertEquals("https://github.test/acme/widgets/issues/1", performed.upstreamRef());
    assertEquals(performed.upstreamRef(), performed.output().path("url").asText());
    assertEquals(1, server.effects("create_issue"), "reconciling must not create anything");

    // A read that times out is retryable and claims nothing about effects.
    CountingGithubMcpServer.Block read =
        server.blockNextCall("get_issue", CountingGithubMcpServer.Phase.BEFORE_EFFECT);
    try {
      SkillFailedException slow =
          expect(
              SkillFailedException.class,
              () ->
                  github.invoke(
                      skill("github.get_issue"),
                      input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":1}"),
                      ctx()));
      assertTrue(slow.retryable());
      assertTrue(
          slow.getMessage().contains("did not answer") && !slow.getMessage().contains("unknown"),
          slow.getMessage());
    } finally {
      read.release();
    }
  }

  @Test
  void reconcileFindsBlockedInFlightEffectsAndAnswersNotPerformedWithoutOne() throws Exception {
    CountingGithubMcpServer server = server(Set.of());
    McpGithubProvider github = provider(server.url(), TOKEN);
    for (int i = 0; i < 130; i++) { // more than a page of other issues, the oldest first
      server.seedIssue("acme", "widgets", "old " + i, "someone else's");
    }
    InvocationContext ctx = ctx();
    ObjectNode in = input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"Crash test\"}");

    // The effect is done but the answer is held, as if the Gateway died while waiting for it; a
    // restarted Gateway (another provider, another MCP session) looks for it.
    McpGithubProvider restarted = provider(server.url(), TOKEN);
    CountingGithubMcpServer.Block block =
        server.blockNextCall("create_issue", CountingGithubMcpServer.Phase.AFTER_EFFECT);
    CompletableFuture<JsonNode> call =
        CompletableFuture.supplyAsync(
            () -> github.invoke(skill("github.create_issue"), in, ctx), callers);
    try {
      assertTrue(block.awaitBlocked(Duration.ofSeconds(10)));
      Reconciliation performed = reconcile(restarted, "github.create_issue", in, ctx);
      assertEquals(
          "https://github.test/acme/widgets/issues/131",
          assertInstanceOf(Reconciliation.Performed.class, performed).upstreamRef());
    } finally {
      block.release();
    }
    call.get(10, TimeUnit.SECONDS);

    // Held before the effect: nothing exists, and the lookup says where it looked.
    InvocationContext before = ctx();
    CountingGithubMcpServer.Block early =
        server.blockNextCall("create_issue", CountingGithubMcpServer.Phase.BEFORE_EFFECT);
    CompletableFuture<JsonNode> held =
        CompletableFuture.supplyAsync(
            () -> github.invoke(skill("github.create_issue"), in, before), callers);
    try {
      assertTrue(early.awaitBlocked(Duration.ofSeconds(10)));
      Reconciliation none = reconcile(restarted, "github.create_issue", in, before);
      String evidence = assertInstanceOf(Reconciliation.NotPerformed.class, none).evidence();
      assertTrue(
          evidence.contains("acme/widgets")
              && evidence.contains(before.marker())
              && evidence.contains("131 newest"),
          evidence);
    } finally {
      early.release();
    }
    held.get(10, TimeUnit.SECONDS);

    // Comments: found when made, not found for another invocation.
    InvocationContext commented = ctx();
    ObjectNode comment =
        input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":3,\"body\":\"+1\"}");
    github.invoke(skill("github.add_issue_comment"), comment, commented);
    assertInstanceOf(
        Reconciliation.Performed.class,
        reconcile(github, "github.add_issue_comment", comment, commented));
    assertInstanceOf(
        Reconciliation.NotPerformed.class,
        reconcile(github, "github.add_issue_comment", comment, ctx()));

    // Reads have nothing to reconcile.
    assertInstanceOf(
        Reconciliation.NotPerformed.class,
        reconcile(
            github,
            "github.get_issue",
            input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":1}"),
            ctx()));
    assertEquals(2, server.effects("create_issue"));
    assertEquals(1, server.effects("add_issue_comment"));
  }

  @Test
  void reconcileIsUnknownWhenTheLookupToolIsMissing() throws Exception {
    CountingGithubMcpServer server = server(Set.of("list_issues"));
    McpGithubProvider github = provider(server.url(), TOKEN);
    Reconciliation answer =
        reconcile(
            github,
            "github.create_issue",
            input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"x\"}"),
            ctx());
    assertTrue(
        assertInstanceOf(Reconciliation.Unknown.class, answer).why().contains("list_issues"),
        answer.toString());
  }

  @Test
  void aServerDownAtStartIsUnavailableWithAReasonAndRecoveredLater() throws Exception {
    int port = freePort();
    String url = "http://127.0.0.1:" + port + "/mcp";
    McpGithubProvider github = provider(url, TOKEN);

    String reason = reason(github.availability());
    assertTrue(
        reason.contains("cannot be reached")
            && reason.contains("GITHUB_MCP_URL")
            && reason.contains("127.0.0.1:" + port),
        reason);
    reason(github.availability(skill("github.create_issue")));
    expect(
        SkillUnavailableException.class,
        () ->
            github.invoke(
                skill("github.get_issue"),
                input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":1}"),
                ctx()));
    Reconciliation unknown =
        reconcile(
            github,
            "github.create_issue",
            input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"x\"}"),
            ctx());
    assertInstanceOf(Reconciliation.Unknown.class, unknown);

    CountingGithubMcpServer server = CountingGithubMcpServer.http(port, TOKEN, Set.of());
    toClose.add(server);
    // Within the back-off nothing is tried; after it, the next check connects.
    reason(github.availability());
    clock.advance(McpConnection.MAX_BACKOFF);
    assertInstanceOf(Availability.Available.class, github.availability());
    github.invoke(
        skill("github.create_issue"),
        input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"x\"}"),
        ctx());
    assertEquals(1, server.effects("create_issue"));

    // The server goes away and comes back on the same port: the session is re-opened.
    server.close();
    SkillFailedException e =
        expect(
            SkillFailedException.class,
            () ->
                github.invoke(
                    skill("github.get_issue"),
                    input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":1}"),
                    ctx()));
    assertTrue(e.retryable(), e.getMessage());
    CountingGithubMcpServer again = CountingGithubMcpServer.http(port, TOKEN, Set.of());
    toClose.add(again);
    clock.advance(McpConnection.MAX_BACKOFF);
    assertInstanceOf(Availability.Available.class, github.availability());
    again.seedIssue("acme", "widgets", "back", "");
    assertEquals(
        "back",
        github
            .invoke(
                skill("github.get_issue"),
                input("{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":1}"),
                ctx())
            .path("title")
            .asText());
  }

  @Test
  void theTokenIsSentAsBearerAndAWrongOrMissingOneMakesItUnavailable() throws Exception {
    CountingGithubMcpServer server = server(Set.of());

    McpGithubProvider wrong = provider(server.url(), "ghp-wrong-token");
    String reason = reason(wrong.availability());
    assertTrue(reason.contains("GITHUB_TOKEN") && reason.contains("401"), reason);
    assertFalse(reason.contains("ghp-wrong-token"), reason);

    McpGithubProvider none = provider(server.url(), null);
    String missing = reason(none.availability());
    assertTrue(missing.contains("GITHUB_TOKEN is not set"), missing);
    int refused = server.unauthorized();
    assertTrue(refused >= 2, "refused " + refused);

    McpGithubProvider right = provider(server.url(), TOKEN);
    assertInstanceOf(Availability.Available.class, right.availability());
    right.invoke(skill("github.search_issues"), input("{\"query\":\"x\"}"), ctx());
    assertEquals(refused, server.unauthorized());
    assertTrue(server.authorizationHeaders().contains("Bearer " + TOKEN));
    assertTrue(server.calls("search_issues") == 1);
    assertFalse(right.toString().contains(TOKEN));
    seen.add(right.toString());
    seen.add(wrong.toString());
  }

  /** Read by {@link GithubSettings}, the GitHub part of the settings read at start. */
  @Test
  void theEnvironmentChoosesTheEndpointAndNeverShowsTheToken() {
    var http =
        GithubSettings.fromEnvironment(
                java.util.Map.of(
                    "GITHUB_MCP_URL",
                    "https://api.githubcopilot.com/mcp/",
                    "GITHUB_TOKEN",
                    TOKEN,
                    "GITHUB_MCP_COMMAND",
                    "ignored"))
            .mcp();
    assertInstanceOf(GithubMcpEndpoint.Http.class, http.orElseThrow());
    assertFalse(http.get().toString().contains(TOKEN));
    var stdio =
        GithubSettings.fromEnvironment(
                java.util.Map.of(
                    "GITHUB_MCP_COMMAND",
                    "  github-mcp-server   stdio ",
                    "GITHUB_TOKEN",
                    TOKEN,
                    "GITHUB_TOOLSETS",
                    "issues",
                    "SLACK_BOT_TOKEN",
                    "xoxb-secret"))
            .mcp();
    GithubMcpEndpoint.Stdio command =
        assertInstanceOf(GithubMcpEndpoint.Stdio.class, stdio.orElseThrow());
    assertEquals(List.of("github-mcp-server", "stdio"), command.argv());
    assertEquals(java.util.Map.of("GITHUB_TOOLSETS", "issues"), command.environment());
    assertFalse(command.toString().contains(TOKEN));
    assertTrue(
        GithubSettings.fromEnvironment(java.util.Map.of("GITHUB_TOKEN", TOKEN)).mcp().isEmpty());
    // An invalid URL is a configuration error naming the variable (read with every other setting).
    expect(
        ConfigException.class,
        () ->
            GithubSettings.fromEnvironment(
                java.util.Map.of("GITHUB_MCP_URL", "ftp://user:" + TOKEN + "@x/?key=" + TOKEN)));
  }
}
