package dev.worka.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.schema.McpSchemaValidator;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.protocol.Json;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.McpHttpClientTransportAuthorizationException;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/agent/mcp} against a real Gateway (real PostgreSQL, the real planner process, dry
 * run), spoken to by the official MCP Java SDK's client with a step token: Ernest's command is
 * parked ({@code sleep}) so his step stays running, and the test mints that step's token with the
 * Gateway's key, as the bench does. The REST route is the yardstick: an MCP call must leave the
 * same story as a REST call.
 */
class McpSkillServerTest {
  private static final String ISSUER = "worka-gateway";
  private static final String MCP = "/v1/agent/mcp";
  private static final List<String> PARKED = List.of("/bin/sh", "-c", "sleep 600");

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  TestGateway gw;
  private final List<McpSyncClient> clients = new ArrayList<>();

  @AfterEach
  void stop() {
    clients.forEach(McpSyncClient::closeGracefully);
    if (gw != null) {
      gw.close();
    }
  }

  /** A running step of the Gateway, and a token for it. */
  record Step(String runId, UUID stepId, int attempt, String token) {}

  private void startGateway(Map<String, List<String>> commands) throws Exception {
    gw = TestGateway.start(home, db.url(), TestGateway.policyWith(commands, null));
  }

  /** Submits an issue request and waits until Ernest's "file" step runs (parked). */
  private Step ernestStep(String title) {
    String runId = gw.submit("open an issue in acme/widgets titled '" + title + "'");
    return runningStep(runId, "file", "ernest");
  }

  private Step runningStep(String runId, String stepRef, String agent) {
    gw.followUntil(
        runId,
        e ->
            stepRef.equals(e.path("step_ref").asText()) && "running".equals(e.path("to").asText()));
    JsonNode step = stepOf(gw.story(runId), stepRef);
    assertEquals("running", step.path("status").asText(), step.toPrettyString());
    UUID stepId = UUID.fromString(step.path("step_id").asText());
    int attempt = step.path("attempt").asInt();
    String token =
        new TokenIssuer(SigningKeys.loadOrCreate(home), ISSUER, InstantSource.system())
            .mint(
                agent,
                UUID.fromString(runId),
                stepId,
                attempt,
                Instant.now().plus(Duration.ofMinutes(10)))
            .token();
    return new Step(runId, stepId, attempt, token);
  }

  private static JsonNode stepOf(JsonNode story, String stepRef) {
    return StreamSupport.stream(story.path("steps").spliterator(), false)
        .filter(s -> stepRef.equals(s.path("step_ref").asText()))
        .findFirst()
        .orElseThrow();
  }

  private McpSyncClient client(String token) {
    HttpClientStreamableHttpTransport transport =
        HttpClientStreamableHttpTransport.builder(gw.baseUrl)
            .endpoint(MCP)
            .addHttpRequestCustomizer(
                (request, method, uri, body, context) ->
                    request.header("Authorization", "Bearer " + token))
            .build();
    McpSyncClient client =
        McpClient.sync(transport)
            .clientInfo(McpSchema.Implementation.builder("mcp-skill-server-test", "1").build())
            .requestTimeout(Duration.ofSeconds(30))
            .jsonSchemaValidator(new McpSchemaValidator())
            .build();
    clients.add(client);
    return client;
  }

  private static McpSchema.CallToolResult call(
      McpSyncClient client, String tool, Map<String, Object> arguments, String idempotencyKey) {
    McpSchema.CallToolRequest.Builder request =
        McpSchema.CallToolRequest.builder(tool).arguments(arguments);
    if (idempotencyKey != null) {
      request.meta(Map.of(McpSkillServer.META_IDEMPOTENCY_KEY, idempotencyKey));
    }
    return client.callTool(request.build());
  }

  private static Map<String, Object> issue(String title) {
    return Map.of("owner", "acme", "repo", "widgets", "title", title);
  }

  /** The text of a tool result, as JSON. */
  private static JsonNode text(McpSchema.CallToolResult result) throws Exception {
    assertEquals(1, result.content().size(), result.toString());
    return Json.STRICT.readTree(((McpSchema.TextContent) result.content().get(0)).text());
  }

  private static JsonNode structured(McpSchema.CallToolResult result) throws Exception {
    return Json.STRICT.readTree(
        McpJsonDefaults.getMapper().writeValueAsString(result.structuredContent()));
  }

  private static List<String> gates(JsonNode story) {
    List<String> gates = new ArrayList<>();
    story
        .path("gates")
        .forEach(
            g ->
                gates.add(
                    g.path("status").asText()
                        + " "
                        + g.path("action").asText()
                        + " "
                        + g.path("skill").asText("")));
    return gates;
  }

  private JsonNode gate(JsonNode story, String gateId) {
    return StreamSupport.stream(story.path("gates").spliterator(), false)
        .filter(g -> g.path("gate_id").asText().equals(gateId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no gate " + gateId + " in " + story.path("gates")));
  }

  private TestGateway.Answer rawMcp(String token, String body) {
    return gw.call(
        "POST",
        MCP,
        body,
        Map.of(
            "Authorization",
            "Bearer " + token,
            "Content-Type",
            "application/json",
            "Accept",
            "application/json, text/event-stream"));
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void toolsAreExactlyTheStepsAcceptedSkillsWithTheirDescriptionsAndSchemas() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("listing");
    McpSyncClient client = client(step.token());

    McpSchema.InitializeResult init = client.initialize();
    assertEquals("worka-gateway", init.serverInfo().name());
    assertEquals("2025-11-25", init.protocolVersion());
    assertNotNull(init.capabilities().tools());
    client.ping();

    List<McpSchema.Tool> tools = client.listTools().tools();
    assertEquals(
        List.of("github.create_issue", "worka.submit_result"),
        tools.stream().map(McpSchema.Tool::name).toList());
    JsonNode envelope =
        gw.call("GET", "/v1/agent/context", null, Map.of("Authorization", "Bearer " + step.token()))
            .body();
    JsonNode spec = envelope.path("skills").get(0);
    assertEquals("github.create_issue", spec.path("name").asText());
    McpSchema.Tool tool = tools.get(0);
    assertEquals(spec.path("description").asText(), tool.description());
    assertEquals(
        spec.path("input_schema"),
        Json.STRICT.readTree(McpJsonDefaults.getMapper().writeValueAsString(tool.inputSchema())));
    assertEquals(false, tool.annotations().readOnlyHint(), "create_issue has a side effect");
    assertTrue(
        gates(gw.story(step.runId())).stream().noneMatch(g -> g.startsWith("deny")),
        "listing decides nothing");
  }

  @Test
  void aPlannerStepSeesNoTools() throws Exception {
    startGateway(Map.of("hari", PARKED));
    String runId = gw.submit("open an issue in acme/widgets titled 'planner'");
    Step planner = runningStep(runId, "plan", "hari"); // StartRun's step_ref of the planning step
    McpSyncClient client = client(planner.token());
    client.initialize();
    assertEquals(
        List.of("worka.submit_result"),
        client.listTools().tools().stream().map(McpSchema.Tool::name).toList(),
        "a planner's step has no skills, only the way to end it");

    McpSchema.CallToolResult refused =
        call(client, "github.create_issue", issue("from the planner"), null);
    assertTrue(refused.isError());
    JsonNode body = text(refused);
    assertEquals("policy_denied", body.path("error").asText(), body.toString());
    JsonNode story = gw.story(runId);
    assertEquals("deny", gate(story, body.path("gate_id").asText()).path("status").asText());
    assertEquals(0, story.path("skill_invocations").size());
  }

  @Test
  void anAllowedCallIsTheSameGatedInvocationAsARestCall() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("twins");
    McpSyncClient client = client(step.token());
    client.initialize();

    McpSchema.CallToolResult result = call(client, "github.create_issue", issue("via mcp"), null);
    assertFalse(result.isError(), result.toString());
    TestGateway.Answer rest =
        gw.call(
            "POST",
            "/v1/agent/skills/github.create_issue",
            Json.STRICT
                .createObjectNode()
                .set("input", Json.STRICT.valueToTree(issue("via rest")))
                .toString(),
            Map.of("Authorization", "Bearer " + step.token(), "Content-Type", "application/json"));
    assertEquals(200, rest.status(), rest.raw().body());

    JsonNode story = gw.story(step.runId());
    assertEquals(
        List.of(
            "allow plan.submit ",
            "allow skill.invoke github.create_issue",
            "allow skill.invoke github.create_issue"),
        gates(story));
    JsonNode calls = story.path("skill_invocations");
    assertEquals(2, calls.size());
    boolean firstViaMcp = calls.get(0).path("input").path("title").asText().equals("via mcp");
    JsonNode viaMcp = firstViaMcp ? calls.get(0) : calls.get(1);
    JsonNode viaRest = firstViaMcp ? calls.get(1) : calls.get(0);
    for (String field :
        List.of(
            "skill",
            "agent",
            "step_id",
            "status",
            "policy_status",
            "lock_status",
            "lock_events",
            "dry_run")) {
      assertEquals(viaRest.path(field), viaMcp.path(field), field);
    }
    assertEquals("succeeded", viaMcp.path("status").asText());
    assertTrue(viaMcp.path("dry_run").asBoolean());
    assertTrue(viaMcp.path("idempotency_key").asText().startsWith("derived:"), viaMcp.toString());
    assertEquals("allow", gate(story, viaMcp.path("gate_id").asText()).path("status").asText());

    assertEquals(
        viaMcp.path("invocation_id").asText(),
        result.meta().get(McpSkillServer.META_INVOCATION_ID));
    assertEquals(false, result.meta().get(McpSkillServer.META_REPLAYED));
    assertEquals(
        viaMcp.path("output"), structured(result), "the tool result is the recorded output");
    assertEquals(viaMcp.path("output"), text(result));
    assertEquals(rest.body().path("output").path("dry_run"), structured(result).path("dry_run"));
  }

  @Test
  void refusedCallsAreToolErrorsWithTheirDenyGates() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("refusals");
    McpSyncClient client = client(step.token());
    client.initialize();

    record Refusal(String tool, Map<String, Object> arguments, String error, String because) {}
    List<Refusal> refusals =
        List.of(
            new Refusal(
                "github.create_issue",
                Map.of("owner", "evil", "repo", "widgets", "title", "x"),
                "policy_denied",
                "condition"),
            new Refusal(
                "slack.post_message",
                Map.of("channel", "C1", "text", "hi"),
                "policy_denied",
                "not granted"),
            new Refusal(
                "github.delete_repository",
                Map.of("owner", "acme", "repo", "widgets"),
                "policy_denied",
                "not granted skill"),
            new Refusal(
                "github.create_issue",
                Map.of("owner", "acme", "repo", "widgets"),
                "invalid_body",
                "title"));
    JsonNode story = null;
    List<String> denyGates = new ArrayList<>();
    for (Refusal r : refusals) {
      McpSchema.CallToolResult result = call(client, r.tool(), r.arguments(), null);
      assertTrue(result.isError(), r + ": " + result);
      JsonNode body = text(result);
      assertEquals(r.error(), body.path("error").asText(), r + ": " + body);
      assertTrue(body.path("reason").asText().contains(r.because()), r + ": " + body);
      assertEquals(body.path("gate_id").asText(), result.meta().get("dev.worka/gate_id"));
      story = gw.story(step.runId());
      JsonNode gate = gate(story, body.path("gate_id").asText());
      assertEquals("deny", gate.path("status").asText());
      assertEquals("skill.invoke", gate.path("action").asText());
      assertEquals(r.tool(), gate.path("skill").asText());
      assertEquals(body.path("reason").asText(), gate.path("reason").asText());
      denyGates.add(gate.path("gate_id").asText());
    }
    assertEquals(4, denyGates.stream().distinct().count());
    assertEquals(0, story.path("skill_invocations").size(), "nothing refused became an invocation");

    McpSchema.CallToolResult badKey =
        call(client, "github.create_issue", issue("bad key"), "spaces are not allowed");
    assertTrue(badKey.isError());
    assertEquals("invalid_body", text(badKey).path("error").asText());
    assertEquals(0, gw.story(step.runId()).path("skill_invocations").size());
  }

  @Test
  void badExpiredAndStaleTokensAreHttp401() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("tokens");
    String initialize =
        """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},
         "clientInfo":{"name":"raw","version":"1"}}}""";

    Exception refused = assertThrows(Exception.class, () -> client("not-a-token").initialize());
    assertTrue(
        causes(refused).stream()
            .anyMatch(McpHttpClientTransportAuthorizationException.class::isInstance),
        causes(refused).toString());
    TestGateway.Answer forged =
        rawMcp(step.token().substring(0, step.token().length() - 4) + "AAAA", initialize);
    assertEquals(401, forged.status());
    assertEquals("token_invalid", forged.body().path("error").asText(), forged.raw().body());

    String expired =
        new TokenIssuer(
                SigningKeys.loadOrCreate(home),
                ISSUER,
                InstantSource.fixed(Instant.now().minus(Duration.ofHours(1))))
            .mint(
                "ernest",
                UUID.fromString(step.runId()),
                step.stepId(),
                step.attempt(),
                Instant.now().minus(Duration.ofMinutes(50)))
            .token();
    TestGateway.Answer late = rawMcp(expired, initialize);
    assertEquals(401, late.status());
    assertEquals("token_expired", late.body().path("error").asText(), late.raw().body());

    // The step's attempt ends (its result is posted); the same token no longer works over MCP.
    McpSyncClient client = client(step.token());
    client.initialize();
    TestGateway.Answer posted =
        gw.call(
            "POST",
            "/v1/agent/result",
            "{\"status\":\"succeeded\",\"output\":{}}",
            Map.of("Authorization", "Bearer " + step.token(), "Content-Type", "application/json"));
    assertEquals(200, posted.status(), posted.raw().body());
    Exception ended =
        assertThrows(
            Exception.class, () -> call(client, "github.create_issue", issue("after"), null));
    assertTrue(
        causes(ended).stream()
            .anyMatch(McpHttpClientTransportAuthorizationException.class::isInstance),
        causes(ended).toString());
    TestGateway.Answer stale =
        rawMcp(
            step.token(),
            """
        {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"github.create_issue",
         "arguments":{"owner":"acme","repo":"widgets","title":"after"}}}""");
    assertEquals(401, stale.status());
    assertEquals("step_not_running", stale.body().path("error").asText(), stale.raw().body());

    JsonNode story = gw.story(step.runId());
    assertEquals(0, story.path("skill_invocations").size());
    assertEquals(
        1,
        StreamSupport.stream(story.path("gates").spliterator(), false)
            .filter(
                g ->
                    g.path("action").asText().equals("agent.token")
                        && g.path("status").asText().equals("deny"))
            .count(),
        "the ended token's first use is a deny gate, its repeats are only logged: "
            + story.path("gates"));
  }

  @Test
  void theOutputIsCleanedAndAKeyedCallIsReplayedWithoutASecondInvocation() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("cleaning");
    McpSyncClient client = client(step.token());
    client.initialize();

    McpSchema.CallToolResult first =
        call(client, "github.create_issue", issue("ping @channel now"), "k-1");
    assertFalse(first.isError(), first.toString());
    String title = structured(first).path("input").path("title").asText();
    assertEquals(
        "ping ＠channel now", title, "the broadcast is neutralized in what the agent gets back");
    assertFalse(((McpSchema.TextContent) first.content().get(0)).text().contains("@channel"));

    McpSchema.CallToolResult again =
        call(client, "github.create_issue", issue("ping @channel now"), "k-1");
    assertFalse(again.isError(), again.toString());
    assertEquals(true, again.meta().get(McpSkillServer.META_REPLAYED));
    assertEquals(
        first.meta().get(McpSkillServer.META_INVOCATION_ID),
        again.meta().get(McpSkillServer.META_INVOCATION_ID));
    assertEquals(structured(first), structured(again));

    JsonNode story = gw.story(step.runId());
    JsonNode calls = story.path("skill_invocations");
    assertEquals(1, calls.size(), calls.toString());
    assertEquals("key:k-1", calls.get(0).path("idempotency_key").asText());
    assertEquals(
        List.of("acquired", "released", "replayed"),
        Json.STRICT.convertValue(calls.get(0).path("lock_events"), List.class));
    assertEquals(
        1,
        calls.get(0).path("cleaned").path("broadcast_mentions").asInt(),
        "the cleaning is recorded: " + calls.get(0).path("cleaned"));
  }

  @Test
  void transportRulesAndLimitsHold() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("transport");

    TestGateway.Answer notification =
        rawMcp(step.token(), "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    assertEquals(202, notification.status(), notification.raw().body());
    assertEquals("", notification.raw().body());

    TestGateway.Answer get =
        gw.call("GET", MCP, null, Map.of("Authorization", "Bearer " + step.token()));
    assertEquals(405, get.status(), "no server-initiated stream in stateless mode");

    TestGateway.Answer unknownMethod =
        rawMcp(step.token(), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/list\"}");
    assertEquals(200, unknownMethod.status());
    assertEquals(
        -32601,
        unknownMethod.body().path("error").path("code").asInt(),
        unknownMethod.raw().body());

    TestGateway.Answer duplicateKeys =
        rawMcp(step.token(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}");
    assertEquals(400, duplicateKeys.status());
    assertEquals(
        -32700,
        duplicateKeys.body().path("error").path("code").asInt(),
        duplicateKeys.raw().body());

    TestGateway.Answer batch =
        rawMcp(step.token(), "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    assertEquals(400, batch.status(), batch.raw().body());

    String big =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\""
            + "x".repeat(1024 * 1024)
            + "\"}}";
    TestGateway.Answer tooLarge = rawMcp(step.token(), big);
    assertEquals(413, tooLarge.status());
    assertEquals("too_large", tooLarge.body().path("error").asText());

    TestGateway.Answer origin =
        gw.call(
            "POST",
            MCP,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            Map.of(
                "Authorization",
                "Bearer " + step.token(),
                "Content-Type",
                "application/json",
                "Origin",
                "http://rebound.example"));
    assertEquals(403, origin.status(), origin.raw().body());
    JsonNode denied = gate(gw.story(step.runId()), origin.body().path("gate_id").asText());
    assertEquals("deny", denied.path("status").asText());

    TestGateway.Answer noToken =
        gw.call(
            "POST",
            MCP,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            Map.of("Content-Type", "application/json"));
    assertEquals(401, noToken.status());
  }

  /** An answer read off a socket: status and body (as JSON when it is). */
  record Raw(int status, JsonNode body, String text) {}

  private static final String PING = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";

  /**
   * {@code POST /v1/agent/mcp} on a socket of its own, with the {@code Host} it is given (the JDK's
   * HTTP client will not send another than the URL's): what a browser that an attacker's DNS
   * pointed at the Gateway would send.
   */
  private Raw rawPost(String host, Map<String, String> headers, String body) throws Exception {
    int port = Integer.parseInt(gw.baseUrl.substring(gw.baseUrl.lastIndexOf(':') + 1));
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      byte[] content = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      StringBuilder request = new StringBuilder("POST " + MCP + " HTTP/1.1\r\n");
      if (host != null) {
        request.append("Host: ").append(host).append("\r\n");
      }
      request
          .append(
              "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n")
          .append("Connection: close\r\nContent-Length: ")
          .append(content.length)
          .append("\r\n");
      headers.forEach((k, v) -> request.append(k).append(": ").append(v).append("\r\n"));
      request.append("\r\n");
      var out = socket.getOutputStream();
      out.write(request.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      out.write(content);
      out.flush();
      String answer =
          new String(
              socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      int status = Integer.parseInt(answer.substring(9, 12));
      int split = answer.indexOf("\r\n\r\n");
      String head = answer.substring(0, split);
      String text = answer.substring(split + 4);
      if (head.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
        StringBuilder joined = new StringBuilder();
        for (int at = 0; ; ) {
          int eol = text.indexOf("\r\n", at);
          int size = Integer.parseInt(text.substring(at, eol).trim(), 16);
          if (size == 0) {
            break;
          }
          joined.append(text, eol + 2, eol + 2 + size);
          at = eol + 2 + size + 2;
        }
        text = joined.toString();
      }
      JsonNode json =
          text.isBlank() || !text.strip().startsWith("{")
              ? Json.STRICT.createObjectNode()
              : Json.LENIENT.readTree(text);
      return new Raw(status, json, text);
    }
  }

  private int port() {
    return Integer.parseInt(gw.baseUrl.substring(gw.baseUrl.lastIndexOf(':') + 1));
  }

  /** Gate counts of a run by "status action". */
  private static Map<String, Long> gateCounts(JsonNode story) {
    return StreamSupport.stream(story.path("gates").spliterator(), false)
        .collect(
            Collectors.groupingBy(
                g -> g.path("status").asText() + " " + g.path("action").asText(),
                java.util.TreeMap::new,
                Collectors.counting()));
  }

  @Test
  void onlyTheGatewaysOwnHostAndOriginAreAnsweredAgainstDnsRebinding() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("rebinding");
    Map<String, String> token = Map.of("Authorization", "Bearer " + step.token());
    int port = port();

    // The Gateway's own names, at its port: answered.
    for (String host :
        List.of(
            "127.0.0.1:" + port,
            "localhost:" + port,
            "LocalHost.:" + port,
            "[::1]:" + port,
            "127.0.0.2:" + port)) {
      Raw ok = rawPost(host, token, PING);
      assertEquals(200, ok.status(), host + ": " + ok.text());
    }
    for (String origin : List.of("http://127.0.0.1:" + port, "http://localhost:" + port)) {
      Raw ok =
          rawPost(
              "127.0.0.1:" + port,
              Map.of("Authorization", "Bearer " + step.token(), "Origin", origin),
              PING);
      assertEquals(200, ok.status(), origin + ": " + ok.text());
    }

    // A name the attacker's DNS points here, or the Gateway's name at another port: refused, and
    // recorded for the step whose working token came with it.
    List<String> gateIds = new ArrayList<>();
    for (String host :
        List.of(
            "rebound.example:" + port,
            "rebound.example",
            "127.0.0.1:" + (port == 1 ? 2 : 1),
            "localhost",
            "127.0.0.1.rebound.example:" + port,
            "localhost.rebound.example:" + port)) {
      Raw refused = rawPost(host, token, PING);
      assertEquals(403, refused.status(), host + ": " + refused.text());
      assertEquals("host_not_allowed", refused.body().path("error").asText(), refused.text());
      gateIds.add(refused.body().path("gate_id").asText());
    }
    for (String origin :
        List.of(
            "http://rebound.example",
            "http://127.0.0.1:3000",
            "https://127.0.0.1:" + port + "x",
            "null",
            "file://",
            "http://localhost:" + port + "/page")) {
      Raw refused =
          rawPost(
              "127.0.0.1:" + port,
              Map.of("Authorization", "Bearer " + step.token(), "Origin", origin),
              PING);
      assertEquals(403, refused.status(), origin + ": " + refused.text());
      assertEquals("origin_not_allowed", refused.body().path("error").asText(), refused.text());
      gateIds.add(refused.body().path("gate_id").asText());
    }
    Raw malformed = rawPost("evil@127.0.0.1:" + port, token, PING);
    assertTrue(
        malformed.status() == 400 || malformed.status() == 403,
        malformed.status() + " " + malformed.text());
    JsonNode story = gw.story(step.runId());
    for (String id : gateIds) {
      JsonNode gate = gate(story, id);
      assertEquals("deny", gate.path("status").asText());
      assertEquals("agent.call", gate.path("action").asText());
      assertTrue(gate.path("reason").asText().startsWith("mcp: "), gate.toString());
    }

    // Without a working token there is no identity to record: the 403 alone, before the token is
    // looked at.
    Raw anonymous = rawPost("rebound.example:" + port, Map.of(), PING);
    assertEquals(403, anonymous.status(), anonymous.text());
    assertEquals("host_not_allowed", anonymous.body().path("error").asText());
    assertFalse(anonymous.body().has("gate_id"), anonymous.text());
    Raw forged =
        rawPost(
            "127.0.0.1:" + port,
            Map.of("Authorization", "Bearer not-a-token", "Origin", "http://rebound.example"),
            PING);
    assertEquals(403, forged.status(), forged.text());
    assertEquals("origin_not_allowed", forged.body().path("error").asText());
    assertFalse(forged.body().has("gate_id"), forged.text());

    JsonNode after = gw.story(step.runId());
    assertEquals(
        Map.of("allow plan.submit", 1L, "deny agent.call", (long) gateIds.size()),
        gateCounts(after));
    assertEquals(0, after.path("skill_invocations").size());
    assertEquals(
        "running",
        stepOf(after, "file").path("status").asText(),
        "a few refusals do not end the step");
  }

  @Test
  void theHostOfWorkaGatewayUrlIsOwnAtItsOwnPort() throws Exception {
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            TestGateway.policyWith(Map.of("hari", PARKED), null),
            "dry-run",
            Map.of(
                "WORKA_GATEWAY_URL",
                "http://worka-gateway.test:8443/",
                "WORKA_WORKER_NETWORK",
                "host"));
    String runId = gw.submit("open an issue in acme/widgets titled 'behind a proxy'");
    Step planner = runningStep(runId, "plan", "hari");
    Map<String, String> token = Map.of("Authorization", "Bearer " + planner.token());
    int port = port();

    for (String host :
        List.of("worka-gateway.test:8443", "WORKA-Gateway.test:8443", "127.0.0.1:" + port)) {
      assertEquals(200, rawPost(host, token, PING).status(), host);
    }
    assertEquals(
        200,
        rawPost(
                "worka-gateway.test:8443",
                Map.of(
                    "Authorization",
                    "Bearer " + planner.token(),
                    "Origin",
                    "http://worka-gateway.test:8443"),
                PING)
            .status());
    for (String host :
        List.of("worka-gateway.test", "worka-gateway.test:" + port, "gateway.test:8443")) {
      Raw refused = rawPost(host, token, PING);
      assertEquals(403, refused.status(), host + ": " + refused.text());
      assertEquals("host_not_allowed", refused.body().path("error").asText());
    }
    Raw origin =
        rawPost(
            "worka-gateway.test:8443",
            Map.of(
                "Authorization",
                "Bearer " + planner.token(),
                "Origin",
                "https://worka-gateway.test:8443"),
            PING);
    assertEquals(403, origin.status(), "another scheme is another origin: " + origin.text());
  }

  @Test
  void submitResultRefusesIdentityFieldsThatAreNotTheTokensLikeTheRestRoute() throws Exception {
    startGateway(Map.of("ernest", PARKED));
    Step step = ernestStep("identity");
    McpSyncClient client = client(step.token());
    client.initialize();
    String otherRun = UUID.randomUUID().toString();

    // The REST route, the yardstick.
    TestGateway.Answer rest =
        gw.call(
            "POST",
            "/v1/agent/result",
            "{\"status\":\"succeeded\",\"run_id\":\"" + otherRun + "\"}",
            Map.of("Authorization", "Bearer " + step.token(), "Content-Type", "application/json"));
    assertEquals(403, rest.status(), rest.raw().body());
    assertEquals("identity_mismatch", rest.body().path("error").asText());

    List<Map<String, Object>> forged =
        List.of(
            Map.of("status", "succeeded", "run_id", otherRun),
            Map.of("status", "succeeded", "step_id", UUID.randomUUID().toString()),
            Map.of("status", "succeeded", "agent", "hari"),
            Map.of("status", "failed", "error", "x", "attempt", step.attempt() + 1),
            Map.of("status", "succeeded", "run_id", Map.of("nested", step.runId())));
    JsonNode story = null;
    for (Map<String, Object> arguments : forged) {
      McpSchema.CallToolResult refused =
          call(client, McpSkillServer.SUBMIT_RESULT, arguments, null);
      assertTrue(refused.isError(), arguments + ": " + refused);
      JsonNode body = text(refused);
      assertEquals("identity_mismatch", body.path("error").asText(), body.toString());
      story = gw.story(step.runId());
      JsonNode gate = gate(story, body.path("gate_id").asText());
      assertEquals("deny", gate.path("status").asText());
      assertEquals("agent.identity", gate.path("action").asText());
      assertTrue(
          gate.path("reason").asText().startsWith("mcp/worka.submit_result: "), gate.toString());
    }
    assertEquals(
        "running", stepOf(story, "file").path("status").asText(), "no forged result was recorded");
    assertEquals(
        Map.of("allow plan.submit", 1L, "deny agent.identity", (long) forged.size() + 1),
        gateCounts(story));

    // Its own ids are no mismatch: dropped, as REST drops them, and the result is recorded.
    McpSchema.CallToolResult own =
        call(
            client,
            McpSkillServer.SUBMIT_RESULT,
            Map.of(
                "status",
                "succeeded",
                "summary",
                "mine",
                "run_id",
                step.runId(),
                "step_id",
                step.stepId().toString(),
                "agent",
                "ernest",
                "attempt",
                step.attempt()),
            null);
    assertFalse(own.isError(), own.toString());
    JsonNode done = gw.story(step.runId());
    assertEquals("succeeded", stepOf(done, "file").path("status").asText());
    assertEquals("mine", stepOf(done, "file").path("summary").asText());
  }

  /** A worker that speaks MCP for its skills (and posts its result) completes a governed step. */
  @Test
  void aWorkerThatSpeaksOnlyMcpCompletesItsStep() throws Exception {
    startGateway(Map.of("ernest", mcpWorkerCommand("Filed over MCP")));
    String runId = gw.submit("open an issue in acme/widgets titled 'Filed over MCP'");
    JsonNode run = gw.finish(runId);

    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    assertEquals(
        List.of("allow plan.submit ", "allow skill.invoke github.create_issue"), gates(run));
    JsonNode call = run.path("skill_invocations").get(0);
    assertEquals("succeeded", call.path("status").asText());
    assertEquals("Filed over MCP", call.path("input").path("title").asText());
    JsonNode output = stepOf(run, "file").path("output");
    assertEquals("worka-gateway", output.path("server").asText(), output.toString());
    assertEquals(
        "[\"github.create_issue\",\"worka.submit_result\"]", output.path("tools").toString());
    assertTrue(
        run.path("events").toString().contains("agent:ernest#1"),
        "the result was recorded for the worker's attempt, through the MCP tool: "
            + run.path("events"));
    assertEquals(call.path("invocation_id").asText(), output.path("invocation_id").asText());
    assertEquals(call.path("output"), output.path("issue"));
    assertTrue(run.path("burns").isEmpty(), run.path("burns").toString());
  }

  /**
   * {@link McpOnlyWorker} as an agent command: this JVM, the test classes, the MCP SDK and its
   * libraries.
   */
  private static List<String> mcpWorkerCommand(String title) {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(
                e ->
                    e.contains("modelcontextprotocol")
                        || e.contains("jackson")
                        || e.contains("reactor")
                        || e.contains("reactive-streams")
                        || e.contains("slf4j-api")
                        || (e.contains("worka-gateway")
                            && Path.of(e).getFileName().toString().equals("test-classes")))
            .collect(Collectors.joining(File.pathSeparator));
    return List.of(
        javaBin,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-cp",
        classpath,
        McpOnlyWorker.class.getName(),
        title);
  }

  private static List<Throwable> causes(Throwable e) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable t = e; t != null && !chain.contains(t); t = t.getCause()) {
      chain.add(t);
    }
    return chain;
  }
}
