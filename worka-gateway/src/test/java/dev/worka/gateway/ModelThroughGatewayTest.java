package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
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
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            policy,
            "dry-run",
            Map.of(
                "WORKA_MODEL",
                "anthropic",
                "ANTHROPIC_API_KEY",
                KEY,
                "ANTHROPIC_BASE_URL",
                stub.baseUrl(),
                "WORKA_ANTHROPIC_MODEL",
                MODEL));
  }

  @Test
  void theModelPlansAndFilesTheIssueThroughTheGatewayWhichAloneHoldsTheKey() throws Exception {
    start(TestGateway.builtinPolicyForTests());
    JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Model filed this'"));

    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    assertEquals(
        "File the issue the request asks for (stub model)",
        run.path("plan").path("summary").asText());
    JsonNode calls = run.path("skill_invocations");
    assertEquals(1, calls.size(), calls.toPrettyString());
    assertEquals("github.create_issue", calls.get(0).path("skill").asText());
    assertEquals("ernest", calls.get(0).path("agent").asText());
    assertEquals("Model filed this", calls.get(0).path("input").path("title").asText());
    assertTrue(calls.get(0).path("dry_run").asBoolean());
    JsonNode file = GovernedRunTest.find(run.path("steps"), "file");
    assertEquals("Opened the issue 'Model filed this' (stub model)", file.path("summary").asText());

    // Every model call was an allow gate; the provider saw three calls, each with the real key
    // only.
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
    assertEquals(
        "tool_result",
        received.get(2).body().path("messages").get(2).path("content").get(0).path("type").asText(),
        received.get(2).body().toString());

    // The story counts the tokens against the run's budget.
    JsonNode usage = run.path("model_usage");
    assertEquals(
        PLAN_IN + 2 * TURN_IN, usage.path("input_tokens").asLong(), usage.toPrettyString());
    assertEquals(PLAN_OUT + 2 * TURN_OUT, usage.path("output_tokens").asLong());
    assertEquals(200_000, usage.path("budget_tokens").asLong());
    assertEquals(3, usage.path("calls").size());
    assertFalse(run.toString().contains(KEY), "the real key appears in the run's story");
  }

  @Test
  void aBudgetWithoutRoomForACallsInputDeniesItWithADenyGateBeforeAnythingIsSent()
      throws Exception {
    start(
        TestGateway.withLimit(
            TestGateway.withLimit(
                TestGateway.builtinPolicyForTests(), "max_model_tokens_per_run", "100"),
            "max_attempts",
            "1"));
    JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Too expensive'"));

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    assertEquals(
        0, stub.received().size(), "a call whose input alone could pass the budget is never sent");
    JsonNode deny = null;
    for (JsonNode g : run.path("gates")) {
      if (g.path("action").asText().equals("model.invoke")
          && g.path("status").asText().equals("deny")) {
        deny = g;
      }
    }
    assertTrue(deny != null, run.path("gates").toPrettyString());
    assertEquals("hari", deny.path("subject").asText());
    assertTrue(
        deny.path("reason").asText().contains("no room for this call's input"), deny.toString());
    assertTrue(deny.path("reason").asText().contains("0 of 100 tokens used"), deny.toString());
    JsonNode plan = GovernedRunTest.find(run.path("steps"), "plan");
    assertEquals("failed", plan.path("status").asText());
    assertTrue(plan.path("error").asText().contains("budget"), plan.path("error").asText());
    assertEquals(0, run.path("model_usage").path("total_tokens").asLong());
  }

  // ---- racing the budget: calls held open by the provider stand-in, made with the steps' own
  // tokens

  /**
   * What the Gateway counts as the most input a request can cost: its bytes as sent plus the
   * per-call overhead.
   */
  static long ceiling(String request) throws Exception {
    ObjectNode body = (ObjectNode) Json.STRICT.readTree(request);
    body.put("model", MODEL);
    return Json.STRICT.writeValueAsBytes(body).length + CALL_OVERHEAD;
  }

  /** Documented in docs/models.md: tokens counted for each call besides its bytes. */
  static final long CALL_OVERHEAD = 1024;

  static final String ASK =
      "{\"model\": \"any\", \"max_tokens\": %d, \"messages\": [{\"role\": \"user\","
          + " \"content\": \"hi\"}]}";

  /**
   * A stub whose calls stay open until {@code release} opens; each reports its request's size as
   * input and uses all its max_tokens.
   */
  private static StubMessagesApi heldStub(java.util.concurrent.CountDownLatch release)
      throws Exception {
    return StubMessagesApi.start(
        KEY,
        request -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return StubMessagesApi.toolUse(
              request,
              "t",
              Json.LENIENT.createObjectNode(),
              Json.write(request).getBytes(java.nio.charset.StandardCharsets.UTF_8).length,
              request.path("max_tokens").asInt());
        });
  }

  private void startHeldGateway(String policy, Map<String, String> more) throws Exception {
    Map<String, String> env =
        new java.util.HashMap<>(
            Map.of(
                "WORKA_MODEL",
                "anthropic",
                "ANTHROPIC_API_KEY",
                KEY,
                "ANTHROPIC_BASE_URL",
                stub.baseUrl(),
                "WORKA_ANTHROPIC_MODEL",
                MODEL));
    env.putAll(more);
    gw = TestGateway.startWithEnvironment(home, db.url(), policy, "dry-run", env);
  }

  private String mint(String agent, String runId, String stepId) throws Exception {
    return new dev.worka.gateway.token.TokenIssuer(
            dev.worka.gateway.token.SigningKeys.loadOrCreate(home),
            Gateway.ISSUER,
            java.time.InstantSource.system())
        .mint(
            agent,
            java.util.UUID.fromString(runId),
            java.util.UUID.fromString(stepId),
            1,
            java.time.Instant.now().plus(java.time.Duration.ofMinutes(2)))
        .token();
  }

  private java.util.concurrent.CompletableFuture<TestGateway.Answer> callAsync(
      String token, String body) {
    Map<String, String> headers =
        Map.of(
            "Authorization",
            "Bearer " + token,
            "Content-Type",
            "application/json",
            "anthropic-version",
            "2023-06-01");
    return java.util.concurrent.CompletableFuture.supplyAsync(
        () -> gw.call("POST", "/v1/agent/model/v1/messages", body, headers),
        java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
  }

  /** Until {@code n} of {@code calls} have an answer (the others are held open by the stand-in). */
  private static void awaitAnswered(
      List<java.util.concurrent.CompletableFuture<TestGateway.Answer>> calls, int n) {
    await("answers to " + n + " of the " + calls.size() + " calls")
        .atMost(java.time.Duration.ofSeconds(60))
        .pollInterval(java.time.Duration.ofMillis(10))
        .until(
            () -> calls.stream().filter(java.util.concurrent.CompletableFuture::isDone).count(),
            answered -> answered >= n);
  }

  private static List<JsonNode> modelGates(JsonNode story, String status) {
    List<JsonNode> out = new ArrayList<>();
    story
        .path("gates")
        .forEach(
            g -> {
              if (g.path("action").asText().equals("model.invoke")
                  && g.path("status").asText().equals(status)) {
                out.add(g);
              }
            });
    return out;
  }

  @Test
  void callsOfOneStepUnderWayAreBoundedAndReserveTheirInputAndOutputUntilTheyEnd()
      throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    stub = heldStub(release);
    startHeldGateway(
        TestGateway.withLimit(
            TestGateway.withLimit(
                TestGateway.policyWith(Map.of("hari", List.of("/bin/sh", "-c", "sleep 120")), null),
                "max_model_tokens_per_run",
                "20000"),
            "max_attempts",
            "1"),
        Map.of());
    String runId = gw.submit("plan something");
    gw.followUntil(
        runId, e -> "running".equals(e.path("to").asText()) && e.path("step_ref").isTextual());
    String token =
        mint("hari", runId, gw.story(runId).path("steps").get(0).path("step_id").asText());

    // Six calls of one step at once: two are let through (WORKA_MODEL_CALLS_PER_STEP's default) and
    // held open by the provider; the other four are refused while those are under way.
    List<java.util.concurrent.CompletableFuture<TestGateway.Answer>> calls = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      calls.add(callAsync(token, ASK.formatted(5000)));
    }
    stub.awaitReceived(2, java.time.Duration.ofSeconds(60));
    awaitAnswered(calls, 4);
    List<TestGateway.Answer> refused =
        calls.stream()
            .filter(java.util.concurrent.CompletableFuture::isDone)
            .map(java.util.concurrent.CompletableFuture::join)
            .toList();
    for (TestGateway.Answer a : refused) {
      assertEquals(429, a.status(), a.raw().body());
      assertEquals("too_many_requests", a.body().path("error").asText());
      assertTrue(a.body().path("gate_id").isTextual(), a.raw().body());
      assertEquals("1", a.raw().headers().firstValue("retry-after").orElse(null));
    }
    assertEquals(2, stub.received().size(), "nothing of the refused calls reached the provider");
    release.countDown();
    for (java.util.concurrent.CompletableFuture<TestGateway.Answer> c : calls) {
      TestGateway.Answer a = c.get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(a.status() == 200 || a.status() == 429, a.raw().body());
    }

    // Both held calls used everything they reserved; their reservations are gone, so a third call
    // gets what is left after what they used, less its own input.
    long c = ceiling(ASK.formatted(5000));
    long used =
        stub.received().stream()
            .mapToLong(
                r ->
                    r.body().path("max_tokens").asLong()
                        + Json.write(r.body())
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8)
                            .length)
            .sum();
    assertEquals(
        List.of(5000L, 5000L),
        stub.received().stream().map(r -> r.body().path("max_tokens").asLong()).toList());
    TestGateway.Answer third =
        callAsync(token, ASK.formatted(50_000)).get(60, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(200, third.status(), third.raw().body());
    assertEquals(
        20_000 - used - ceiling(ASK.formatted(50_000)),
        stub.received().get(2).body().path("max_tokens").asLong());

    JsonNode story = gw.story(runId);
    assertEquals(3, modelGates(story, "allow").size(), story.path("gates").toPrettyString());
    List<JsonNode> denied = modelGates(story, "deny");
    assertEquals(4, denied.size(), story.path("gates").toPrettyString());
    for (JsonNode g : denied) {
      assertTrue(g.path("reason").asText().contains("WORKA_MODEL_CALLS_PER_STEP=2"), g.toString());
    }
    assertTrue(
        story.path("model_usage").path("total_tokens").asLong() <= 20_000,
        story.path("model_usage").toString());
    assertTrue(c > CALL_OVERHEAD);
    gw.operator("POST", "/v1/runs/" + runId + "/cancel", "{\"reason\": \"test over\"}");
  }

  @Test
  void callsOfSeveralStepsRacingForTheRunsBudgetNeverReserveMoreThanIt() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    stub = heldStub(release);
    long c = ceiling(ASK.formatted(1000));
    long budget = 2 * (c + 1000) + c + 500; // two whole calls, and a third with 500 output tokens
    List<String> sleep = List.of("/bin/sh", "-c", "sleep 120");
    startHeldGateway(
        TestGateway.withLimit(
            TestGateway.withLimit(
                TestGateway.policyWith(Map.of("hari", sleep, "ernest", sleep), null),
                "max_model_tokens_per_run",
                Long.toString(budget)),
            "max_attempts",
            "1"),
        Map.of());
    String runId = gw.submit("plan something");
    gw.followUntil(
        runId, e -> "running".equals(e.path("to").asText()) && e.path("step_ref").isTextual());
    String hari =
        mint("hari", runId, gw.story(runId).path("steps").get(0).path("step_id").asText());
    Map<String, String> asHari =
        Map.of("Authorization", "Bearer " + hari, "Content-Type", "application/json");
    StringBuilder plan = new StringBuilder("{\"summary\": \"three at once\", \"steps\": [");
    for (String ref : List.of("a", "b", "c")) {
      plan.append(ref.equals("a") ? "" : ", ")
          .append("{\"step_ref\": \"")
          .append(ref)
          .append(
              "\", \"agent\": \"ernest\", \"objective\": \"search\", \"skills\": [\"github.search_issues\"],"
                  + " \"depends_on\": []}");
    }
    plan.append("]}");
    TestGateway.Answer accepted = gw.call("POST", "/v1/agent/plan", plan.toString(), asHari);
    assertEquals(201, accepted.status(), accepted.raw().body());
    TestGateway.Answer done =
        gw.call(
            "POST",
            "/v1/agent/result",
            "{\"status\": \"succeeded\", \"summary\": \"planned\"}",
            asHari);
    assertEquals(200, done.status(), done.raw().body());
    java.util.Set<String> running = new java.util.HashSet<>();
    gw.followUntil(
        runId,
        e -> {
          if ("running".equals(e.path("to").asText())
              && List.of("a", "b", "c").contains(e.path("step_ref").asText())) {
            running.add(e.path("step_ref").asText());
          }
          return running.size() == 3;
        });
    List<String> tokens = new ArrayList<>();
    for (JsonNode step : gw.story(runId).path("steps")) {
      if (step.path("agent").asText().equals("ernest")) {
        tokens.add(mint("ernest", runId, step.path("step_id").asText()));
      }
    }
    assertEquals(3, tokens.size());

    // Two calls from each of the three steps, all at once: three fit (the third cut to what is
    // left),
    // the other three find the budget spent, whichever steps they come from.
    List<java.util.concurrent.CompletableFuture<TestGateway.Answer>> calls = new ArrayList<>();
    for (String token : tokens) {
      calls.add(callAsync(token, ASK.formatted(1000)));
      calls.add(callAsync(token, ASK.formatted(1000)));
    }
    stub.awaitReceived(3, java.time.Duration.ofSeconds(60));
    awaitAnswered(calls, 3);
    for (java.util.concurrent.CompletableFuture<TestGateway.Answer> f : calls) {
      if (f.isDone()) {
        TestGateway.Answer a = f.join();
        assertEquals(403, a.status(), a.raw().body());
        assertEquals("policy_denied", a.body().path("error").asText());
        assertTrue(a.body().path("message").asText().contains("budget is spent"), a.raw().body());
        assertTrue(a.body().path("gate_id").isTextual(), a.raw().body());
      }
    }
    assertEquals(3, stub.received().size(), "the refused calls never reached the provider");
    release.countDown();
    int ok = 0;
    for (java.util.concurrent.CompletableFuture<TestGateway.Answer> f : calls) {
      ok += f.get(60, java.util.concurrent.TimeUnit.SECONDS).status() == 200 ? 1 : 0;
    }
    assertEquals(3, ok);
    List<Long> granted =
        stub.received().stream().map(r -> r.body().path("max_tokens").asLong()).sorted().toList();
    assertEquals(List.of(500L, 1000L, 1000L), granted);

    JsonNode story = gw.story(runId);
    assertEquals(3, modelGates(story, "allow").size());
    assertEquals(3, modelGates(story, "deny").size());
    long total = story.path("model_usage").path("total_tokens").asLong();
    assertTrue(total <= budget, "the run spent " + total + " of " + budget);
    gw.operator("POST", "/v1/runs/" + runId + "/cancel", "{\"reason\": \"test over\"}");
  }

  @Test
  void aManifestThatDoesNotGrantModelInvokeDeniesTheRoute() throws Exception {
    String policy =
        TestGateway.builtinPolicyForTests()
            .replace("permissions: [plan.submit, model.invoke]", "permissions: [plan.submit]");
    assertFalse(
        policy.equals(TestGateway.builtinPolicyForTests()),
        "the built-in policy no longer grants hari model.invoke");
    start(TestGateway.withLimit(policy, "max_attempts", "1"));
    JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Not allowed'"));

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    assertTrue(stub.received().isEmpty(), "nothing may reach the provider");
    boolean denied = false;
    for (JsonNode g : run.path("gates")) {
      if (g.path("action").asText().equals("model.invoke")) {
        assertEquals("deny", g.path("status").asText());
        assertEquals("hari", g.path("subject").asText());
        assertTrue(
            g.path("reason").asText().contains("not granted permission model.invoke"),
            g.toString());
        denied = true;
      }
    }
    assertTrue(denied, run.path("gates").toPrettyString());
  }

  @Test
  void theRouteRefusesBadRequestsAndForcesTheModelAndBudget() throws Exception {
    stub =
        StubMessagesApi.start(
            KEY,
            request -> {
              ObjectNode m =
                  StubMessagesApi.toolUse(request, "unused", Json.LENIENT.createObjectNode(), 7, 3);
              m.putArray("content").addObject().put("type", "text").put("text", "hello back");
              m.put("stop_reason", "end_turn");
              return m;
            });
    String policy =
        TestGateway.withLimit(
            TestGateway.withLimit(
                TestGateway.policyWith(Map.of("hari", probeCommand()), null),
                "max_model_tokens_per_run",
                "5000"),
            "max_attempts",
            "1");
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            policy,
            "dry-run",
            Map.of(
                "WORKA_MODEL",
                "anthropic",
                "ANTHROPIC_API_KEY",
                KEY,
                "ANTHROPIC_BASE_URL",
                stub.baseUrl(),
                "WORKA_ANTHROPIC_MODEL",
                MODEL));
    JsonNode run = gw.finish(gw.submit("probe the model route"));
    assertEquals("failed", run.path("status").asText(), run.toPrettyString());

    JsonNode probe = GovernedRunTest.find(run.path("steps"), "plan").path("output");
    JsonNode cases = probe.path("cases");
    assertCase(cases, "no_token", 401, null);
    assertCase(cases, "forged_token", 401, null);
    assertCase(cases, "invalid_json", 422, "invalid_body");
    assertCase(cases, "oversize", 413, "too_large");
    assertCase(cases, "stream", 400, "invalid_body");
    // What the provider would fetch, look up or run: refused, each with its deny gate.
    for (String refused :
        List.of(
            "server_tool",
            "mcp_servers",
            "image_url",
            "document_file",
            "tool_result_url",
            "container_upload")) {
      assertCase(cases, refused, 422, "content_refused");
      assertTrue(
          cases.path(refused).path("body").path("gate_id").isTextual(),
          refused + ": " + cases.path(refused));
    }
    assertTrue(
        cases
            .path("tool_result_url")
            .path("body")
            .path("message")
            .asText()
            .contains("messages[0].content[0].content[0].source.content[0].source"),
        cases.path("tool_result_url").toString());
    assertCase(cases, "allowed", 200, null);
    assertEquals(
        "hello back",
        cases.path("allowed").path("body").path("content").get(0).path("text").asText());
    assertCase(cases, "x_api_key", 200, null);
    assertCase(cases, "x_api_key_and_other_bearer", 401, "token_invalid");

    // The two requests that reached the provider: the configured model, max_tokens cut to what the
    // budget leaves after the call's input, no beta header, the real key; nothing of the refused
    // ones.
    assertEquals(2, stub.received().size());
    StubMessagesApi.Received sent = stub.received().get(0);
    assertEquals(MODEL, sent.body().path("model").asText());
    String good =
        "{\"model\":\"claude-the-worker-wants\",\"max_tokens\":999999,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    assertEquals(5000 - ceiling(good), sent.body().path("max_tokens").asLong());
    assertEquals(
        5000 - (7 + 3) - ceiling(good), stub.received().get(1).body().path("max_tokens").asLong());
    assertNull(sent.header("anthropic-beta"));
    assertEquals("2023-06-01", sent.header("anthropic-version"));
    for (StubMessagesApi.Received r : stub.received()) {
      assertEquals(KEY, r.header("x-api-key"));
      assertNull(r.header("authorization"));
    }
    JsonNode gates = run.path("gates");
    assertEquals(6, modelGates(run, "deny").size(), gates.toPrettyString());
    assertEquals(2, modelGates(run, "allow").size(), gates.toPrettyString());

    // The worker's environment held the protocol variables only: no model key.
    List<String> env = texts(probe.path("env"));
    assertFalse(env.contains("ANTHROPIC_API_KEY"), env.toString());
    assertFalse(env.contains("ANTHROPIC_BASE_URL"), env.toString());
    assertTrue(env.contains("WORKA_GATEWAY_URL"), env.toString());
    assertEquals(2 * (7 + 3), run.path("model_usage").path("total_tokens").asLong());
  }

  @Test
  void theOfficialJavaSdkReachesTheRouteWithTheStepTokenAsItsKeyInEitherHeader() throws Exception {
    stub =
        StubMessagesApi.start(
            KEY,
            request -> {
              ObjectNode m =
                  StubMessagesApi.toolUse(request, "unused", Json.LENIENT.createObjectNode(), 5, 2);
              m.putArray("content")
                  .addObject()
                  .put("type", "text")
                  .put("text", "hello from the stub");
              m.put("stop_reason", "end_turn");
              return m;
            });
    startHeldGateway(
        TestGateway.withLimit(
            TestGateway.policyWith(Map.of("hari", List.of("/bin/sh", "-c", "sleep 120")), null),
            "max_attempts",
            "1"),
        Map.of());
    String runId = gw.submit("plan something");
    gw.followUntil(
        runId, e -> "running".equals(e.path("to").asText()) && e.path("step_ref").isTextual());
    String token =
        mint("hari", runId, gw.story(runId).path("steps").get(0).path("step_id").asText());

    // .apiKey(token): the Java SDK 3.x sends it as Authorization: Bearer.
    com.anthropic.client.AnthropicClient bearer =
        com.anthropic.client.okhttp.AnthropicOkHttpClient.builder()
            .baseUrl(gw.baseUrl + "/v1/agent/model")
            .apiKey(token)
            .maxRetries(0)
            .build();
    // The header the TypeScript and Python SDKs send an apiKey in: x-api-key.
    com.anthropic.client.AnthropicClient apiKey =
        com.anthropic.client.okhttp.AnthropicOkHttpClient.builder()
            .baseUrl(gw.baseUrl + "/v1/agent/model")
            .apiKey(token)
            .putHeader("x-api-key", token)
            .maxRetries(0)
            .build();
    com.anthropic.models.messages.MessageCreateParams params =
        com.anthropic.models.messages.MessageCreateParams.builder()
            .model("claude-anything")
            .maxTokens(100)
            .addUserMessage("hello")
            .build();
    try {
      for (com.anthropic.client.AnthropicClient client : List.of(bearer, apiKey)) {
        com.anthropic.models.messages.Message answer = client.messages().create(params);
        assertEquals("hello from the stub", answer.content().get(0).asText().text());
        assertEquals(2, answer.usage().outputTokens());
      }
      // A different token beside it is refused before anything else; so is a forged one.
      com.anthropic.client.AnthropicClient conflicting =
          com.anthropic.client.okhttp.AnthropicOkHttpClient.builder()
              .baseUrl(gw.baseUrl + "/v1/agent/model")
              .apiKey(token)
              .putHeader("x-api-key", token)
              .putHeader(
                  "Authorization",
                  "Bearer " + mint("hari", runId, java.util.UUID.randomUUID().toString()))
              .maxRetries(0)
              .build();
      com.anthropic.client.AnthropicClient forged =
          com.anthropic.client.okhttp.AnthropicOkHttpClient.builder()
              .baseUrl(gw.baseUrl + "/v1/agent/model")
              .apiKey("x")
              .putHeader("x-api-key", token + "x")
              .maxRetries(0)
              .build();
      for (com.anthropic.client.AnthropicClient client : List.of(conflicting, forged)) {
        com.anthropic.errors.UnauthorizedException e =
            org.junit.jupiter.api.Assertions.assertThrows(
                com.anthropic.errors.UnauthorizedException.class,
                () -> client.messages().create(params));
        assertEquals("token_invalid", e.body().convert(JsonNode.class).path("error").asText());
        client.close();
      }
    } finally {
      bearer.close();
      apiKey.close();
    }
    assertEquals(2, stub.received().size(), "only the two good calls reached the provider");
    for (StubMessagesApi.Received r : stub.received()) {
      assertEquals(KEY, r.header("x-api-key"));
      assertNull(r.header("authorization"));
    }
    // x-api-key is the model route's alone: other agent routes still want Authorization: Bearer.
    TestGateway.Answer context =
        gw.call("GET", "/v1/agent/context", null, Map.of("x-api-key", token));
    assertEquals(401, context.status(), context.raw().body());
    gw.operator("POST", "/v1/runs/" + runId + "/cancel", "{\"reason\": \"test over\"}");
  }

  @Test
  void whatTheProviderAnswersOnErrorReachesTheWorkerAndTheStoryOnlyAsACleanedShortReason()
      throws Exception {
    String leakyUrl = "https://admin:hunter2-password@internal.example/v1/messages?key=" + KEY;
    String said =
        "messages.0: bad block; see " + leakyUrl + " (request req_011CXsecretid, key " + KEY + ")";
    List<StubMessagesApi.Reply> script =
        new java.util.concurrent.CopyOnWriteArrayList<>(
            List.of(
                new StubMessagesApi.Reply(
                    400,
                    StubMessagesApi.apiError("invalid_request_error", said, "req_011CXsecretid")),
                new StubMessagesApi.Reply(
                    401,
                    StubMessagesApi.apiError(
                        "authentication_error", "invalid x-api-key " + KEY, "req_011CXsecretid")),
                new StubMessagesApi.Reply(
                    500, StubMessagesApi.apiError("api_error", "boom at " + leakyUrl, "req_2")),
                new StubMessagesApi.Reply(
                    529,
                    StubMessagesApi.apiError(
                        "overloaded_error", "Overloaded " + leakyUrl, "req_3")),
                new StubMessagesApi.Reply(
                    429, StubMessagesApi.apiError("rate_limit_error", "slow down " + KEY, "req_4")),
                new StubMessagesApi.Reply(
                    302,
                    Json.LENIENT
                        .getNodeFactory()
                        .textNode("<a href=\"" + leakyUrl + "\">moved</a>")),
                new StubMessagesApi.Reply(
                    418, StubMessagesApi.apiError("<script>" + KEY, leakyUrl, "req_5")),
                new StubMessagesApi.Reply(
                    200, Json.LENIENT.getNodeFactory().textNode("not json " + leakyUrl))));
    java.util.concurrent.atomic.AtomicInteger next =
        new java.util.concurrent.atomic.AtomicInteger();
    stub = StubMessagesApi.startReplying(KEY, request -> script.get(next.getAndIncrement()));
    startHeldGateway(
        TestGateway.withLimit(
            TestGateway.policyWith(Map.of("hari", List.of("/bin/sh", "-c", "sleep 120")), null),
            "max_attempts",
            "1"),
        Map.of());
    String runId = gw.submit("plan something");
    gw.followUntil(
        runId, e -> "running".equals(e.path("to").asText()) && e.path("step_ref").isTextual());
    String token =
        mint("hari", runId, gw.story(runId).path("steps").get(0).path("step_id").asText());

    List<TestGateway.Answer> answers = new ArrayList<>();
    for (int i = 0; i < script.size(); i++) {
      answers.add(
          callAsync(token, ASK.formatted(100)).get(60, java.util.concurrent.TimeUnit.SECONDS));
    }
    int[] statuses = {400, 502, 503, 503, 429, 502, 502, 502};
    String[] codes = {
      "upstream_rejected",
      "unavailable",
      "unavailable",
      "unavailable",
      "unavailable",
      "unavailable",
      "unavailable",
      "unavailable"
    };
    for (int i = 0; i < answers.size(); i++) {
      TestGateway.Answer a = answers.get(i);
      assertEquals(statuses[i], a.status(), i + ": " + a.raw().body());
      assertEquals(codes[i], a.body().path("error").asText(), i + ": " + a.raw().body());
      assertClean(a.raw().body());
    }
    assertTrue(
        answers.get(0).body().path("message").asText().contains("invalid_request_error"),
        answers.get(0).raw().body());
    assertTrue(
        answers.get(0).body().path("message").asText().contains("messages.0: bad block; see [url]"),
        answers.get(0).raw().body());
    assertTrue(
        answers.get(1).body().path("message").asText().contains("ANTHROPIC_API_KEY"),
        answers.get(1).raw().body());
    assertTrue(answers.get(4).raw().headers().firstValue("retry-after").isPresent());

    JsonNode story = gw.story(runId);
    assertClean(story.toString());
    JsonNode calls = story.path("model_usage").path("calls");
    assertEquals(8, calls.size(), calls.toPrettyString());
    // Error answers are not billed: no usage; the 200 that was not JSON may have been: charged its
    // reservation.
    assertEquals(0, calls.get(0).path("input_tokens").asLong());
    assertEquals("provider", calls.get(0).path("counted").asText());
    assertEquals("reservation", calls.get(7).path("counted").asText());
    assertEquals(
        ceiling(ASK.formatted(100)) + 100,
        calls.get(7).path("input_tokens").asLong() + calls.get(7).path("output_tokens").asLong());
    gw.operator("POST", "/v1/runs/" + runId + "/cancel", "{\"reason\": \"test over\"}");
  }

  @Test
  void aProviderErrorEndsTheWorkersStepWithTheCleanedReasonInTheRunsStory() throws Exception {
    String leakyUrl = "https://admin:hunter2-password@internal.example/v1/messages?key=" + KEY;
    stub =
        StubMessagesApi.startReplying(
            KEY,
            request ->
                new StubMessagesApi.Reply(
                    400,
                    StubMessagesApi.apiError(
                        "invalid_request_error",
                        "tools.0.input_schema: bad schema; docs at " + leakyUrl + " key " + KEY,
                        "req_011CXsecretid")));
    startHeldGateway(
        TestGateway.withLimit(TestGateway.builtinPolicyForTests(), "max_attempts", "1"), Map.of());
    JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Broken'"));

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    assertEquals(1, stub.received().size(), "a refused request is not retried");
    JsonNode plan = GovernedRunTest.find(run.path("steps"), "plan");
    String error = plan.path("error").asText();
    assertTrue(
        error.contains("refused the request (tools.0.input_schema: bad schema; docs at [url]"),
        error);
    assertClean(run.toString());
  }

  /** No secret, credential-bearing URL or upstream request id in {@code text}. */
  private static void assertClean(String text) {
    for (String leak :
        List.of(KEY, "hunter2", "internal.example", "req_011CXsecretid", "<script>", "not json")) {
      assertFalse(text.contains(leak), "'" + leak + "' leaked: " + text);
    }
  }

  private static void assertCase(JsonNode cases, String name, int status, String error) {
    JsonNode c = cases.path(name);
    assertEquals(status, c.path("status").asInt(), name + ": " + c);
    if (error != null) {
      assertEquals(error, c.path("body").path("error").asText(), name + ": " + c);
    }
  }

  /**
   * The probe as an agent command: the test classes, worka-protocol and Jackson, nothing of the
   * Gateway.
   */
  private static List<String> probeCommand() {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(
                e ->
                    e.contains("worka-protocol")
                        || e.contains("jackson")
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
    boolean reported =
        last.path("content").isArray()
            && last.path("content").size() > 0
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
