package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.skill.model.ModelRouteProbe;
import dev.worka.gateway.skill.model.StubMessagesApi;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * WORKA_MODEL=anthropic end to end: real worker processes run the built-in agents on the official
 * Anthropic SDK, pointed at the Gateway's model route with their step tokens; the Gateway forwards
 * to a local Messages API stub (reached through ANTHROPIC_BASE_URL only) with the real key. The
 * stub plays the model: Hari's submit_plan, then Ernest's github__create_issue and submit_result.
 */
class ModelThroughGatewayTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  static final String KEY = "sk-ant-test-real-key-0123456789abcdef";
  static final String MODEL = "claude-stub-1";
  static final int PLAN_IN = 400, PLAN_OUT = 120, TURN_IN = 300, TURN_OUT = 60;

  StubMessagesApi stub;
  TestGateway gw;

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (stub != null) {
      stub.close();
    }
  }

  private void start(String policy) throws Exception {
    stub = StubMessagesApi.start(KEY, ModelThroughGatewayTest::playModel);
    gw = TestGateway.startWithEnvironment(home, db.url(), policy, "dry-run", Map.of(
        "WORKA_MODEL", "anthropic", "ANTHROPIC_API_KEY", KEY, "ANTHROPIC_BASE_URL", stub.baseUrl(),
        "WORKA_ANTHROPIC_MODEL", MODEL));
  }

  @Test
  void theModelPlansAndFilesTheIssueThroughTheGatewayWhichAloneHoldsTheKey() throws Exception {
    start(TestGateway.builtinPolicyForTests());
    JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Model filed this'"));

    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    assertEquals("File the issue the request asks for (stub model)", run.path("plan").path("summary").asText());
    JsonNode calls = run.path("skill_invocations");
    assertEquals(1, calls.size(), calls.toPrettyString());
    assertEquals("github.create_issue", calls.get(0).path("skill").asText());
    assertEquals("ernest", calls.get(0).path("agent").asText());
    assertEquals("Model filed this", calls.get(0).path("input").path("title").asText());
    assertTrue(calls.get(0).path("dry_run").asBoolean());
    JsonNode file = GovernedRunTest.find(run.path("steps"), "file");
    assertEquals("Opened the issue 'Model filed this' (stub model)", file.path("summary").asText());

    // Every model call was an allow gate; the provider saw three calls, each with the real key only.
    List<String> modelGates = new ArrayList<>();
    for (JsonNode g : run.path("gates")) {
      if (g.path("action").asText().equals("model.invoke")) {
        assertEquals("allow", g.path("status").asText(), g.toString());
        modelGates.add(g.path("subject").asText());
      }
    }
    assertEquals(List.of("hari", "ernest", "ernest"), modelGates);
    assertEquals(List.of(), stub.refusedCredentials());
    List<StubMessagesApi.Received> received = stub.received();
    assertEquals(3, received.size());
    for (StubMessagesApi.Received r : received) {
      assertEquals(KEY, r.header("x-api-key"));
      assertNull(r.header("authorization"), "the step token must not reach the provider");
      assertEquals(MODEL, r.body().path("model").asText());
    }

    // Hari: one call, forced to submit_plan, whose input schema is the plan schema.
    JsonNode hari = received.get(0).body();
    assertEquals("tool", hari.path("tool_choice").path("type").asText());
    assertEquals("submit_plan", hari.path("tool_choice").path("name").asText());
    assertEquals(1, hari.path("tools").size());
    JsonNode planSchema = hari.path("tools").get(0).path("input_schema");
    assertEquals("object", planSchema.path("type").asText());
    assertTrue(planSchema.path("properties").has("steps"), planSchema.toString());
    assertTrue(planSchema.has("$defs"), planSchema.toString());
    assertFalse(planSchema.has("$schema"));

    // Ernest: its tools are exactly its step's accepted skill plus submit_result.
    JsonNode ernest = received.get(1).body();
    assertEquals(List.of("github__create_issue", "submit_result"), names(ernest.path("tools")));
    JsonNode createIssue = ernest.path("tools").get(0).path("input_schema");
    assertEquals(List.of("owner", "repo", "title"), texts(createIssue.path("required")));
    assertEquals("tool_result", received.get(2).body().path("messages").get(2).path("content").get(0)
        .path("type").asText(), received.get(2).body().toString());

    // The story counts the tokens against the run's budget.
    JsonNode usage = run.path("model_usage");
    assertEquals(PLAN_IN + 2 * TURN_IN, usage.path("input_tokens").asLong(), usage.toPrettyString());
    assertEquals(PLAN_OUT + 2 * TURN_OUT, usage.path("output_tokens").asLong());
    assertEquals(200_000, usage.path("budget_tokens").asLong());
    assertEquals(3, usage.path("calls").size());
    assertFalse(run.toString().contains(KEY), "the real key appears in the run's story");
  }

  @Test
  void aSpentTokenBudgetDeniesTheNextModelCallWithADenyGate() throws Exception {
    start(TestGateway.withLimit(TestGateway.withLimit(TestGateway.builtinPolicyForTests(),
        "max_model_tokens_per_run", "100"), "max_attempts", "1"));
    JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Too expensive'"));

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    assertEquals(1, stub.received().size(), "only Hari's call reached the provider");
    JsonNode deny = null;
    for (JsonNode g : run.path("gates")) {
      if (g.path("action").asText().equals("model.invoke") && g.path("status").asText().equals("deny")) {
        deny = g;
      }
    }
    assertTrue(deny != null, run.path("gates").toPrettyString());
    assertEquals("ernest", deny.path("subject").asText());
    assertTrue(deny.path("reason").asText().contains("budget is spent: " + (PLAN_IN + PLAN_OUT) + " of 100"),
        deny.toString());
    JsonNode file = GovernedRunTest.find(run.path("steps"), "file");
    assertEquals("failed", file.path("status").asText());
    assertTrue(file.path("error").asText().contains("budget"), file.path("error").asText());
    assertTrue(run.path("skill_invocations").isEmpty());
    assertEquals(PLAN_IN + PLAN_OUT, run.path("model_usage").path("total_tokens").asLong());
  }

  @Test
  void callsOfOneRunUnderWayShareTheRemainingBudgetInsteadOfEachSpendingIt() throws Exception {
    java.util.concurrent.CountDownLatch releaseFirst = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    stub = StubMessagesApi.start(KEY, request -> {
      if (calls.incrementAndGet() == 1) {
        try {
          releaseFirst.await(); // the first call stays under way until the test lets it finish
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        return StubMessagesApi.toolUse(request, "t", Json.LENIENT.createObjectNode(), 10, 100);
      }
      return StubMessagesApi.toolUse(request, "t", Json.LENIENT.createObjectNode(), 10, 20);
    });
    String policy = TestGateway.withLimit(TestGateway.withLimit(
        TestGateway.policyWith(Map.of("hari", List.of("/bin/sh", "-c", "sleep 120")), null),
        "max_model_tokens_per_run", "1000"), "max_attempts", "1");
    gw = TestGateway.startWithEnvironment(home, db.url(), policy, "dry-run", Map.of(
        "WORKA_MODEL", "anthropic", "ANTHROPIC_API_KEY", KEY, "ANTHROPIC_BASE_URL", stub.baseUrl(),
        "WORKA_ANTHROPIC_MODEL", MODEL));
    String runId = gw.submit("plan something");
    gw.followUntil(runId, e -> "running".equals(e.path("to").asText()) && e.path("step_ref").isTextual());
    JsonNode plan = gw.story(runId).path("steps").get(0);
    String token = new dev.worka.gateway.token.TokenIssuer(dev.worka.gateway.token.SigningKeys.loadOrCreate(home),
        Gateway.ISSUER, java.time.InstantSource.system()).mint("hari", java.util.UUID.fromString(runId),
            java.util.UUID.fromString(plan.path("step_id").asText()), 1,
            java.time.Instant.now().plus(java.time.Duration.ofMinutes(1))).token();
    Map<String, String> headers = Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json",
        "anthropic-version", "2023-06-01");
    String ask = "{\"model\": \"any\", \"max_tokens\": %d, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";

    java.util.concurrent.CompletableFuture<TestGateway.Answer> first = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> gw.call("POST", "/v1/agent/model/v1/messages", ask.formatted(800), headers));
    for (long deadline = System.nanoTime() + 30_000_000_000L; stub.received().isEmpty(); ) {
      assertTrue(System.nanoTime() < deadline, "the first call reached the provider");
      Thread.sleep(20);
    }
    TestGateway.Answer second = gw.call("POST", "/v1/agent/model/v1/messages", ask.formatted(800), headers);
    assertEquals(200, second.status(), second.raw().body());
    releaseFirst.countDown();
    assertEquals(200, first.get(30, java.util.concurrent.TimeUnit.SECONDS).status());
    // Now 30 + 110 tokens are used and nothing is reserved.
    TestGateway.Answer third = gw.call("POST", "/v1/agent/model/v1/messages", ask.formatted(5000), headers);
    assertEquals(200, third.status(), third.raw().body());

    List<Long> sent = stub.received().stream().map(r -> r.body().path("max_tokens").asLong()).toList();
    assertEquals(List.of(800L, 200L, 860L), sent,
        "the second call got what the first had not reserved; the third what both left");
    gw.operator("POST", "/v1/runs/" + runId + "/cancel", "{\"reason\": \"test over\"}");
  }

  @Test
  void aManifestThatDoesNotGrantModelInvokeDeniesTheRoute() throws Exception {
    String policy = TestGateway.builtinPolicyForTests()
        .replace("permissions: [plan.submit, model.invoke]", "permissions: [plan.submit]");
    assertFalse(policy.equals(TestGateway.builtinPolicyForTests()), "the built-in policy no longer grants hari model.invoke");
    start(TestGateway.withLimit(policy, "max_attempts", "1"));
    JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Not allowed'"));

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    assertTrue(stub.received().isEmpty(), "nothing may reach the provider");
    boolean denied = false;
    for (JsonNode g : run.path("gates")) {
      if (g.path("action").asText().equals("model.invoke")) {
        assertEquals("deny", g.path("status").asText());
        assertEquals("hari", g.path("subject").asText());
        assertTrue(g.path("reason").asText().contains("not granted permission model.invoke"), g.toString());
        denied = true;
      }
    }
    assertTrue(denied, run.path("gates").toPrettyString());
  }

  @Test
  void theRouteRefusesBadRequestsAndForcesTheModelAndBudget() throws Exception {
    stub = StubMessagesApi.start(KEY, request -> {
      ObjectNode m = StubMessagesApi.toolUse(request, "unused", Json.LENIENT.createObjectNode(), 7, 3);
      m.putArray("content").addObject().put("type", "text").put("text", "hello back");
      m.put("stop_reason", "end_turn");
      return m;
    });
    String policy = TestGateway.withLimit(TestGateway.withLimit(
        TestGateway.policyWith(Map.of("hari", probeCommand()), null),
        "max_model_tokens_per_run", "5000"), "max_attempts", "1");
    gw = TestGateway.startWithEnvironment(home, db.url(), policy, "dry-run", Map.of(
        "WORKA_MODEL", "anthropic", "ANTHROPIC_API_KEY", KEY, "ANTHROPIC_BASE_URL", stub.baseUrl(),
        "WORKA_ANTHROPIC_MODEL", MODEL));
    JsonNode run = gw.finish(gw.submit("probe the model route"));
    assertEquals("failed", run.path("status").asText(), run.toPrettyString());

    JsonNode probe = GovernedRunTest.find(run.path("steps"), "plan").path("output");
    JsonNode cases = probe.path("cases");
    assertCase(cases, "no_token", 401, null);
    assertCase(cases, "forged_token", 401, null);
    assertCase(cases, "invalid_json", 422, "invalid_body");
    assertCase(cases, "oversize", 413, "too_large");
    assertCase(cases, "stream", 400, "invalid_body");
    assertCase(cases, "server_tool", 422, "invalid_body");
    assertCase(cases, "mcp_servers", 422, "invalid_body");
    assertCase(cases, "allowed", 200, null);
    assertEquals("hello back", cases.path("allowed").path("body").path("content").get(0).path("text").asText());

    // The one request that reached the provider: the configured model, max_tokens cut to the
    // budget, no beta header, the real key.
    assertEquals(1, stub.received().size());
    StubMessagesApi.Received sent = stub.received().get(0);
    assertEquals(MODEL, sent.body().path("model").asText());
    assertEquals(5000, sent.body().path("max_tokens").asLong());
    assertNull(sent.header("anthropic-beta"));
    assertEquals("2023-06-01", sent.header("anthropic-version"));
    assertEquals(KEY, sent.header("x-api-key"));

    // The worker's environment held the protocol variables only: no model key.
    List<String> env = texts(probe.path("env"));
    assertFalse(env.contains("ANTHROPIC_API_KEY"), env.toString());
    assertFalse(env.contains("ANTHROPIC_BASE_URL"), env.toString());
    assertTrue(env.contains("WORKA_GATEWAY_URL"), env.toString());
    assertEquals(7 + 3, run.path("model_usage").path("total_tokens").asLong());
  }

  private static void assertCase(JsonNode cases, String name, int status, String error) {
    JsonNode c = cases.path(name);
    assertEquals(status, c.path("status").asInt(), name + ": " + c);
    if (error != null) {
      assertEquals(error, c.path("body").path("error").asText(), name + ": " + c);
    }
  }

  /** The probe as an agent command: the test classes, worka-protocol and Jackson, nothing of the Gateway. */
  private static List<String> probeCommand() {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(e -> e.contains("worka-protocol") || e.contains("jackson")
            || (e.contains("worka-gateway") && Path.of(e).getFileName().toString().equals("test-classes")))
        .collect(Collectors.joining(File.pathSeparator));
    return List.of(javaBin, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-cp", classpath,
        ModelRouteProbe.class.getName());
  }

  // ---- the stub's script: a model that reads the request as a person would

  private static final Pattern TITLED = Pattern.compile("titled '([^']+)'");

  static JsonNode playModel(JsonNode request) {
    List<String> tools = names(request.path("tools"));
    String text = request.path("messages").toString();
    Matcher titled = TITLED.matcher(text);
    String title = titled.find() ? titled.group(1) : "untitled";
    if (tools.contains("submit_plan")) {
      ObjectNode plan = Json.LENIENT.createObjectNode();
      plan.put("summary", "File the issue the request asks for (stub model)");
      ObjectNode step = plan.putArray("steps").addObject();
      step.put("step_ref", "file");
      step.put("agent", "ernest");
      step.put("objective", "Open an issue in acme/widgets titled '" + title + "'");
      step.putArray("skills").add("github.create_issue");
      step.putArray("depends_on");
      return StubMessagesApi.toolUse(request, "submit_plan", plan, PLAN_IN, PLAN_OUT);
    }
    JsonNode messages = request.path("messages");
    JsonNode last = messages.get(messages.size() - 1);
    boolean reported = last.path("content").isArray() && last.path("content").size() > 0
        && last.path("content").get(0).path("type").asText().equals("tool_result");
    if (!reported) {
      ObjectNode input = Json.LENIENT.createObjectNode();
      input.put("owner", "acme").put("repo", "widgets").put("title", title);
      return StubMessagesApi.toolUse(request, "github__create_issue", input, TURN_IN, TURN_OUT);
    }
    ObjectNode result = Json.LENIENT.createObjectNode();
    result.put("summary", "Opened the issue '" + title + "' (stub model)");
    result.putObject("output").put("issue_title", title);
    return StubMessagesApi.toolUse(request, "submit_result", result, TURN_IN, TURN_OUT);
  }

  private static List<String> names(JsonNode tools) {
    List<String> out = new ArrayList<>();
    tools.forEach(t -> out.add(t.path("name").asText()));
    return out;
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(t -> out.add(t.asText()));
    return out;
  }
}
