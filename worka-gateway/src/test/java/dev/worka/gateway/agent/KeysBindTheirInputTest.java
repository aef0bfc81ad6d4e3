package dev.worka.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.protocol.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * "A key binds what it names" through the real routes of a live Gateway (real PostgreSQL, the
 * counting GitHub MCP server upstream): a skill call's idempotency key over REST and MCP, and a
 * planner's plan. The agent under test is parked ({@code sleep}) and the test speaks for it with
 * its step's token, minted with the Gateway's key.
 */
class KeysBindTheirInputTest {
  private static final String ISSUER = "worka-gateway";
  private static final String GITHUB_TOKEN = "ghp-keys-bind-Secret-4242";
  private static final List<String> PARKED = List.of("/bin/sh", "-c", "sleep 600");
  private static final String SKILL = "/v1/agent/skills/github.create_issue";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  private CountingGithubMcpServer github;
  private TestGateway gw;

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (github != null) {
      github.close();
    }
  }

  private void start(String parked, Map<String, String> limits) throws Exception {
    github = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of());
    String policy = TestGateway.policyWith(Map.of(parked, PARKED), null);
    for (var limit : limits.entrySet()) {
      policy = TestGateway.withLimit(policy, limit.getKey(), limit.getValue());
    }
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            policy,
            "live",
            Map.of("GITHUB_MCP_URL", github.url(), "GITHUB_TOKEN", GITHUB_TOKEN));
  }

  record Step(String runId, UUID stepId, String token) {}

  private Step running(String runId, String stepRef, String agent) {
    gw.followUntil(
        runId,
        e ->
            stepRef.equals(e.path("step_ref").asText()) && "running".equals(e.path("to").asText()));
    JsonNode step = stepOf(gw.story(runId), stepRef);
    UUID stepId = UUID.fromString(step.path("step_id").asText());
    String token =
        new TokenIssuer(SigningKeys.loadOrCreate(home), ISSUER, InstantSource.system())
            .mint(
                agent,
                UUID.fromString(runId),
                stepId,
                step.path("attempt").asInt(),
                Instant.now().plus(Duration.ofMinutes(10)))
            .token();
    return new Step(runId, stepId, token);
  }

  private static JsonNode stepOf(JsonNode story, String stepRef) {
    return StreamSupport.stream(story.path("steps").spliterator(), false)
        .filter(s -> stepRef.equals(s.path("step_ref").asText()))
        .findFirst()
        .orElseThrow();
  }

  private TestGateway.Answer post(Step step, String path, String body) {
    return gw.call(
        "POST",
        path,
        body,
        Map.of(
            "Authorization",
            "Bearer " + step.token(),
            "Content-Type",
            "application/json",
            "Accept",
            "application/json, text/event-stream"));
  }

  private TestGateway.Answer rest(Step step, String title, String key) {
    ObjectNode body = Json.STRICT.createObjectNode();
    body.putObject("input").put("owner", "acme").put("repo", "widgets").put("title", title);
    if (key != null) {
      body.put("idempotency_key", key);
    }
    return post(step, SKILL, body.toString());
  }

  /** A tools/call of github.create_issue over /v1/agent/mcp; answers the tool result. */
  private JsonNode mcp(Step step, String title, String key) {
    ObjectNode request =
        Json.STRICT
            .createObjectNode()
            .put("jsonrpc", "2.0")
            .put("id", 7)
            .put("method", "tools/call");
    ObjectNode params = request.putObject("params").put("name", "github.create_issue");
    params.putObject("arguments").put("owner", "acme").put("repo", "widgets").put("title", title);
    params.putObject("_meta").put(McpSkillServer.META_IDEMPOTENCY_KEY, key);
    TestGateway.Answer answer = post(step, McpSkillServer.PATH, request.toString());
    assertEquals(200, answer.status(), answer.raw().body());
    return answer.body().path("result");
  }

  private static JsonNode toolError(JsonNode result) throws Exception {
    assertTrue(result.path("isError").asBoolean(), result.toString());
    return Json.STRICT.readTree(result.path("content").get(0).path("text").asText());
  }

  private static JsonNode gate(JsonNode story, String gateId) {
    return StreamSupport.stream(story.path("gates").spliterator(), false)
        .filter(g -> g.path("gate_id").asText().equals(gateId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no gate " + gateId + " in " + story.path("gates")));
  }

  private static Map<String, Integer> gateCounts(JsonNode story) {
    Map<String, Integer> counts = new TreeMap<>();
    story
        .path("gates")
        .forEach(
            g ->
                counts.merge(
                    g.path("status").asText() + " " + g.path("action").asText(), 1, Integer::sum));
    return counts;
  }

  private static JsonNode invocationWithKey(JsonNode story, String key) {
    return StreamSupport.stream(story.path("skill_invocations").spliterator(), false)
        .filter(i -> i.path("idempotency_key").asText().equals("key:" + key))
        .findFirst()
        .orElseThrow();
  }

  private static List<String> lockEvents(JsonNode invocation) {
    List<String> events = new ArrayList<>();
    invocation.path("lock_events").forEach(e -> events.add(e.asText()));
    return events;
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void aKeyUsedAgainWithAnotherInputIsRefusedOverRestAndMcpAndNothingMoreHappensUpstream()
      throws Exception {
    start("ernest", Map.of());
    Step step = running(gw.submit("open an issue in acme/widgets titled 'keys'"), "file", "ernest");

    TestGateway.Answer first = rest(step, "the first", "k-1");
    assertEquals(200, first.status(), first.raw().body());
    String invocation = first.body().path("invocation_id").asText();
    assertEquals(1, github.effects("create_issue"));

    // REST: the same key, another input.
    TestGateway.Answer reused = rest(step, "another issue entirely", "k-1");
    assertEquals(409, reused.status(), reused.raw().body());
    assertEquals("idempotency_conflict", reused.body().path("error").asText());
    assertFalse(reused.body().has("output"), "no output of the first call: " + reused.raw().body());
    // MCP: the same key, another input again.
    JsonNode viaMcp = toolError(mcp(step, "yet another", "k-1"));
    assertEquals("idempotency_conflict", viaMcp.path("error").asText(), viaMcp.toString());
    // A key first used over MCP, reused over REST.
    JsonNode second = mcp(step, "made over mcp", "k-2");
    assertFalse(second.path("isError").asBoolean(), second.toString());
    TestGateway.Answer crossed = rest(step, "not what k-2 made", "k-2");
    assertEquals(409, crossed.status(), crossed.raw().body());
    assertEquals("idempotency_conflict", crossed.body().path("error").asText());

    JsonNode story = gw.story(step.runId());
    for (String gateId :
        List.of(
            reused.body().path("gate_id").asText(),
            viaMcp.path("gate_id").asText(),
            crossed.body().path("gate_id").asText())) {
      JsonNode gate = gate(story, gateId);
      assertEquals("deny", gate.path("status").asText());
      assertEquals("skill.invoke", gate.path("action").asText());
      assertEquals("github.create_issue", gate.path("skill").asText());
      assertTrue(
          gate.path("reason").asText().startsWith("idempotency key reused with another input"),
          gate.toString());
    }
    assertEquals(
        List.of("acquired", "released", "conflict", "conflict"),
        lockEvents(invocationWithKey(story, "k-1")));
    assertEquals(
        List.of("acquired", "released", "conflict"), lockEvents(invocationWithKey(story, "k-2")));
    assertEquals(2, story.path("skill_invocations").size());
    assertEquals(2, github.effects("create_issue"), "two calls made, nothing for the reused keys");
    assertEquals(2, github.calls("create_issue"));
    assertEquals(
        List.of("the first", "made over mcp"),
        github.issues("acme", "widgets").stream()
            .map(CountingGithubMcpServer.Issue::title)
            .toList());

    // The same input with its key is still a replay, over either route, without an upstream call.
    JsonNode replay = mcp(step, "the first", "k-1");
    assertFalse(replay.path("isError").asBoolean(), replay.toString());
    assertEquals(true, replay.path("_meta").path(McpSkillServer.META_REPLAYED).asBoolean());
    assertEquals(invocation, replay.path("_meta").path(McpSkillServer.META_INVOCATION_ID).asText());
    TestGateway.Answer restReplay = rest(step, "the first", "k-1");
    assertTrue(restReplay.body().path("replayed").asBoolean(), restReplay.raw().body());
    assertEquals(first.body().path("output"), restReplay.body().path("output"));
    assertEquals(2, github.calls("create_issue"));
  }

  @Test
  void replaysPastTheStepsCallLimitAreRefusedAndTheirRecordStaysBounded() throws Exception {
    start("ernest", Map.of("max_skill_calls_per_step", "4"));
    Step step =
        running(gw.submit("open an issue in acme/widgets titled 'replays'"), "file", "ernest");

    assertEquals(200, rest(step, "once", "k").status());
    // Three replays fit in the limit of four calls, over both routes.
    assertTrue(rest(step, "once", "k").body().path("replayed").asBoolean());
    assertTrue(mcp(step, "once", "k").path("_meta").path(McpSkillServer.META_REPLAYED).asBoolean());
    assertTrue(rest(step, "once", "k").body().path("replayed").asBoolean());
    TestGateway.Answer limited = rest(step, "once", "k");
    assertEquals(403, limited.status(), limited.raw().body());
    assertEquals("policy_denied", limited.body().path("error").asText());
    assertTrue(
        limited.body().path("reason").asText().contains("max_skill_calls_per_step"),
        limited.raw().body());
    JsonNode limitedMcp = toolError(mcp(step, "once", "k"));
    assertEquals("policy_denied", limitedMcp.path("error").asText(), limitedMcp.toString());

    JsonNode story = gw.story(step.runId());
    assertEquals(
        Map.of("allow plan.submit", 1, "allow skill.invoke", 4, "deny skill.invoke", 2),
        gateCounts(story));
    assertEquals(
        List.of("acquired", "released", "replayed", "replayed", "replayed"),
        lockEvents(invocationWithKey(story, "k")),
        "a refused replay writes no lock event");
    assertEquals(1, github.calls("create_issue"));
    assertEquals(1, github.effects("create_issue"));
  }

  // ---- Plans: a run has one plan.

  private static final String PLAN =
      """
      {"summary": "File the issue", "steps": [{"step_ref": "file", "agent": "ernest",
       "objective": "Open an issue in acme/widgets titled 'plans'", "skills": ["github.create_issue"],
       "depends_on": []}]}""";

  /**
   * {@link #PLAN} again, written differently: members reordered, text padded (trimmed when
   * normalized).
   */
  private static final String PLAN_REWRITTEN =
      """
      {"steps": [{"depends_on": [], "skills": ["github.create_issue"], "agent": "ernest",
       "objective": "  Open an issue in acme/widgets titled 'plans'\\n", "step_ref": "file"}],
       "summary": "File the issue "}""";

  private static final String OTHER_PLAN =
      """
      {"summary": "File another issue", "steps": [{"step_ref": "file", "agent": "ernest",
       "objective": "Open an issue in acme/widgets titled 'something else'", "skills": ["github.create_issue"],
       "depends_on": []}]}""";
  private static final String INVALID_PLAN =
      """
      {"summary": "Do what I like", "steps": [{"step_ref": "mine", "agent": "mallory",
       "objective": "Delete the repository", "skills": ["github.delete_repository"], "depends_on": []}]}""";

  @Test
  void aPlanAgainIsAnsweredWithTheAcceptedOneAndAnyOtherPlanIsRefused() throws Exception {
    start("hari", Map.of());
    String runId = gw.submit("open an issue in acme/widgets titled 'plans'");
    Step planner = running(runId, "plan", "hari");

    TestGateway.Answer accepted = post(planner, "/v1/agent/plan", PLAN);
    assertEquals(201, accepted.status(), accepted.raw().body());
    JsonNode plan = accepted.body();
    for (String again : List.of(PLAN, PLAN_REWRITTEN)) {
      TestGateway.Answer same = post(planner, "/v1/agent/plan", again);
      assertEquals(200, same.status(), same.raw().body());
      assertEquals(plan, same.body(), "the same plan id, hash and step map");
    }
    List<String> refusals = new ArrayList<>();
    for (String other : List.of(OTHER_PLAN, INVALID_PLAN)) {
      TestGateway.Answer refused = post(planner, "/v1/agent/plan", other);
      assertEquals(409, refused.status(), refused.raw().body());
      assertEquals("plan_conflict", refused.body().path("error").asText());
      assertEquals(plan, refused.body().path("accepted_plan"), "the refusal names the run's plan");
      assertTrue(
          refused
              .body()
              .path("reason")
              .asText()
              .contains(plan.path("plan_hash").asText().substring(0, 12)),
          refused.raw().body());
      refusals.add(refused.body().path("gate_id").asText());
    }

    JsonNode story = gw.story(runId);
    assertEquals(
        "planning",
        story.path("status").asText(),
        "the invalid second plan did not reject the run");
    assertEquals(plan.path("plan_id").asText(), story.path("plan").path("plan_id").asText());
    assertEquals(plan.path("plan_hash").asText(), story.path("plan").path("plan_hash").asText());
    assertEquals(1, plansOf(UUID.fromString(runId)), "no second plan stored");
    assertEquals(Map.of("allow plan.submit", 3, "deny plan.submit", 2), gateCounts(story));
    for (String gateId : refusals) {
      JsonNode gate = gate(story, gateId);
      assertEquals("deny", gate.path("status").asText());
      assertEquals("plan.submit", gate.path("action").asText());
      assertEquals(planner.stepId().toString(), gate.path("step_id").asText());
    }

    // The planner ends its step with the accepted plan; the run goes on with it.
    TestGateway.Answer result =
        post(planner, "/v1/agent/result", "{\"status\": \"succeeded\", \"summary\": \"planned\"}");
    assertEquals(200, result.status(), result.raw().body());
    gw.followUntil(
        runId,
        e -> "file".equals(e.path("step_ref").asText()) && "running".equals(e.path("to").asText()));
    TestGateway.Answer late = post(planner, "/v1/agent/plan", PLAN);
    assertEquals(401, late.status(), "the planner's attempt ended: " + late.raw().body());
    assertEquals("step_not_running", late.body().path("error").asText());
  }

  @Test
  void afterARejectedPlanTheRunIsOverAndNoPlanIsAccepted() throws Exception {
    start("hari", Map.of());
    String runId = gw.submit("open an issue in acme/widgets titled 'rejected'");
    Step planner = running(runId, "plan", "hari");

    TestGateway.Answer rejected = post(planner, "/v1/agent/plan", INVALID_PLAN);
    assertEquals(422, rejected.status(), rejected.raw().body());
    assertEquals("invalid_plan", rejected.body().path("error").asText());
    for (String again : List.of(PLAN, INVALID_PLAN)) {
      TestGateway.Answer refused = post(planner, "/v1/agent/plan", again);
      assertEquals(401, refused.status(), refused.raw().body());
      assertEquals("step_not_running", refused.body().path("error").asText());
    }
    JsonNode story = gw.finish(runId);
    assertEquals("rejected", story.path("status").asText());
    assertEquals("rejected", story.path("plan").path("status").asText());
    assertEquals(1, plansOf(UUID.fromString(runId)));
    assertEquals(
        Map.of("deny agent.token", 1, "deny plan.submit", 1),
        gateCounts(story),
        "the ended token's refusal is recorded once");
  }

  @Test
  void aPlanSubmittedAgainCountsAsACall() throws Exception {
    start("hari", Map.of("max_skill_calls_per_step", "2"));
    String runId = gw.submit("open an issue in acme/widgets titled 'plans'");
    Step planner = running(runId, "plan", "hari");

    assertEquals(201, post(planner, "/v1/agent/plan", PLAN).status());
    assertEquals(200, post(planner, "/v1/agent/plan", PLAN).status());
    assertEquals(200, post(planner, "/v1/agent/plan", PLAN).status());
    TestGateway.Answer limited = post(planner, "/v1/agent/plan", PLAN);
    assertEquals(403, limited.status(), limited.raw().body());
    assertEquals("policy_denied", limited.body().path("error").asText());
    assertTrue(
        limited.body().path("reason").asText().contains("max_skill_calls_per_step"),
        limited.raw().body());
    JsonNode story = gw.story(runId);
    assertEquals(
        "plan.submit",
        gate(story, limited.body().path("gate_id").asText()).path("action").asText());
    assertEquals(Map.of("allow plan.submit", 3, "deny plan.submit", 1), gateCounts(story));
  }

  private int plansOf(UUID runId) throws Exception {
    try (var c = db.dataSource().getConnection();
        var ps = c.prepareStatement("select count(*) from plans where run_id = ?")) {
      ps.setObject(1, runId);
      try (var rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }
}
