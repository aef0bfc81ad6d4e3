package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Governed runs end to end: real Gateway, real PostgreSQL, real agent processes, built-in policy.
 */
class GovernedRunTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  TestGateway gw;

  @BeforeEach
  void start() throws Exception {
    gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests());
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  @Test
  void anIssueRequestIsPlannedGatedAndFiledInDryRun() {
    String runId = gw.submit("open an issue in acme/widgets titled 'Login test is flaky'");
    JsonNode run = gw.finish(runId);

    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    assertEquals("api", run.path("source").asText());
    assertEquals(32, run.path("trace_id").asText().length());
    assertEquals(
        gw.gateway.policy().id().toString(), run.path("policy_manifest").path("id").asText());

    JsonNode plan = run.path("plan");
    assertEquals("accepted", plan.path("status").asText());
    assertTrue(plan.path("plan_hash").asText().matches("[0-9a-f]{64}"));

    JsonNode steps = run.path("steps");
    assertEquals(2, steps.size());
    assertEquals("hari", steps.get(0).path("agent").asText());
    assertEquals("planner", steps.get(0).path("role").asText());
    assertEquals("succeeded", steps.get(0).path("status").asText());
    assertEquals("ernest", steps.get(1).path("agent").asText());
    assertEquals("succeeded", steps.get(1).path("status").asText());
    assertEquals(1, steps.get(1).path("attempt").asInt());
    assertEquals("[\"github.create_issue\"]", steps.get(1).path("skills").toString());

    List<String> gates = new ArrayList<>();
    run.path("gates")
        .forEach(
            g ->
                gates.add(
                    g.path("status").asText()
                        + " "
                        + g.path("action").asText()
                        + " "
                        + g.path("skill").asText("")));
    assertEquals(List.of("allow plan.submit ", "allow skill.invoke github.create_issue"), gates);

    JsonNode calls = run.path("skill_invocations");
    assertEquals(1, calls.size());
    JsonNode call = calls.get(0);
    assertEquals("github.create_issue", call.path("skill").asText());
    assertEquals("succeeded", call.path("status").asText());
    assertEquals("released", call.path("lock_status").asText());
    assertTrue(call.path("dry_run").asBoolean());
    assertEquals("acme", call.path("input").path("owner").asText());
    assertEquals("widgets", call.path("input").path("repo").asText());
    assertEquals("Login test is flaky", call.path("input").path("title").asText());
    assertTrue(call.path("output").path("dry_run").asBoolean(), call.toPrettyString());
    assertEquals(run.path("gates").get(1).path("gate_id").asText(), call.path("gate_id").asText());

    assertTrue(
        run.path("result").path("summary").asText().contains("Login test is flaky"),
        run.path("result").toString());
    assertTrue(run.path("burns").isEmpty());

    List<String> runMoves = new ArrayList<>();
    run.path("events")
        .forEach(
            e -> {
              if (e.path("entity").asText().equals("run")) {
                runMoves.add(e.path("to").asText());
              }
            });
    assertEquals(List.of("received", "planning", "running", "delivering", "succeeded"), runMoves);
  }

  @Test
  void onlyAnUnknownInvocationCanBeResolvedByAnOperatorAndTheRouteChecksWhatItIsGiven() {
    String runId = gw.submit("open an issue in acme/widgets titled 'resolve me'");
    JsonNode run = gw.finish(runId);
    String invocation = run.path("skill_invocations").get(0).path("invocation_id").asText();
    String path = "/v1/invocations/" + invocation + "/resolve";
    String performed = "{\"outcome\": \"performed\", \"reason\": \"saw it upstream\"}";

    assertEquals(
        401, gw.call("POST", path, performed, Map.of("Content-Type", "application/json")).status());
    TestGateway.Answer succeeded = gw.operator("POST", path, performed);
    assertEquals(409, succeeded.status(), succeeded.raw().body());
    assertTrue(
        succeeded.body().path("message").asText().contains("is succeeded"), succeeded.raw().body());
    assertEquals(
        404,
        gw.operator("POST", "/v1/invocations/" + UUID.randomUUID() + "/resolve", performed)
            .status());
    assertEquals(404, gw.operator("POST", "/v1/invocations/nope/resolve", performed).status());
    for (String bad :
        List.of(
            "{}",
            "[]",
            "{\"outcome\": \"maybe\", \"reason\": \"x\"}",
            "{\"outcome\": \"performed\"}",
            "{\"outcome\": \"performed\", \"reason\": \" \"}",
            "{\"outcome\": \"performed\", \"reason\": \"x\", \"extra\": 1}",
            "{\"outcome\": \"not_performed\", \"reason\": \"x\", \"upstream_ref\": \"https://x\"}")) {
      TestGateway.Answer refused = gw.operator("POST", path, bad);
      assertEquals(422, refused.status(), bad + " -> " + refused.raw().body());
      assertEquals("invalid_body", refused.body().path("error").asText(), refused.raw().body());
    }
    assertEquals(
        "succeeded",
        gw.story(runId).path("skill_invocations").get(0).path("status").asText(),
        "nothing changed by the refused requests");
  }

  @Test
  void aDependentStepStartsOnlyAfterItsDependencySucceededAndReceivesItsOutput() {
    String runId = gw.submit("summarize this thread and file it as an issue in acme/widgets");
    JsonNode run = gw.finish(runId);
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode read = find(run.path("steps"), "read");
    JsonNode file = find(run.path("steps"), "file");
    assertEquals("daneel", read.path("agent").asText());
    assertEquals("ernest", file.path("agent").asText());
    assertEquals("[\"read\"]", file.path("depends_on").toString());
    assertFalse(
        Instant.parse(file.path("started_at").asText())
            .isBefore(Instant.parse(read.path("completed_at").asText())),
        "file started before read completed");
    // The issue body Ernest filed is the summary Daneel produced.
    JsonNode call = run.path("skill_invocations").get(run.path("skill_invocations").size() - 1);
    assertEquals("github.create_issue", call.path("skill").asText());
    assertTrue(
        call.path("input")
            .path("body")
            .asText()
            .contains(read.path("summary").asText().substring(0, 20)),
        call.path("input").toString() + " vs " + read.path("summary"));
  }

  @Test
  void theGatewayRefusesThePlanOfADangerousRequest() {
    String runId = gw.submit("delete the repository acme/widgets");
    JsonNode run = gw.finish(runId);
    assertEquals("rejected", run.path("status").asText(), run.toPrettyString());
    assertTrue(
        run.path("error").asText().contains("github.delete_repository"),
        run.path("error").asText());
    JsonNode plan = run.path("plan");
    assertEquals("rejected", plan.path("status").asText());
    assertTrue(plan.path("rejection_reasons").toString().contains("github.delete_repository"));
    JsonNode gate = run.path("gates").get(0);
    assertEquals("deny", gate.path("status").asText());
    assertEquals("plan.submit", gate.path("action").asText());
    assertTrue(gate.path("reason").asText().contains("delete_repository"));
    assertEquals(1, run.path("steps").size(), "only the planner step exists: " + run.path("steps"));
    assertTrue(run.path("skill_invocations").isEmpty());
    assertEquals("policy", run.path("burns").get(0).path("kind").asText());
  }

  @Test
  void aCallWhoseArgumentsTheConditionForbidsIsDeniedAndRecorded() {
    String runId = gw.submit("open an issue in acme/secret-plans titled 'Leak'");
    JsonNode run = gw.finish(runId);
    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    assertEquals(
        "accepted",
        run.path("plan").path("status").asText(),
        "the plan is allowed; the arguments are not");
    JsonNode deny = null;
    for (JsonNode g : run.path("gates")) {
      if (g.path("action").asText().equals("skill.invoke")) {
        deny = g;
      }
    }
    assertTrue(
        deny != null && deny.path("status").asText().equals("deny"), run.path("gates").toString());
    assertTrue(
        deny.path("reason").asText().contains("condition of github.create_issue does not hold"),
        deny.path("reason").asText());
    assertTrue(run.path("skill_invocations").isEmpty(), "a denied call reaches no provider");
    assertTrue(find(run.path("steps"), "file").path("error").asText().contains("denied by policy"));
  }

  @Test
  void theEventStreamShowsEachTransitionInOrderThenEnds() {
    String runId = gw.submit("comment on acme/widgets#12: the fix is deployed");
    List<JsonNode> events = gw.follow(runId);
    assertFalse(events.isEmpty());
    long last = 0;
    for (JsonNode e : events) {
      assertTrue(e.path("id").asLong() > last, "ids increase");
      last = e.path("id").asLong();
    }
    assertEquals("received", events.get(0).path("to").asText());
    JsonNode end = events.get(events.size() - 1);
    assertEquals("run", end.path("entity").asText());
    assertEquals("succeeded", end.path("to").asText());
    assertEquals(
        gw.story(runId).path("events").size(),
        events.size(),
        "the stream shows every recorded event");
  }

  @Test
  void anythingElseBecomesAOneStepAnswer() {
    JsonNode run = gw.finish(gw.submit("what is the weather like?"));
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    assertEquals("answer", run.path("steps").get(1).path("step_ref").asText());
    assertTrue(
        run.path("result").path("summary").asText().toLowerCase(Locale.ROOT).contains("scripted"));
  }

  @Test
  void theSameIdempotencyKeyReturnsTheSameRunAndAnotherBodyConflicts() {
    Map<String, String> headers =
        Map.of(
            "Authorization",
            "Bearer " + TestGateway.OPERATOR_TOKEN,
            "Content-Type",
            "application/json",
            "Idempotency-Key",
            "req-42");
    TestGateway.Answer first =
        gw.call("POST", "/v1/runs", "{\"text\": \"summarize this thread\"}", headers);
    TestGateway.Answer again =
        gw.call("POST", "/v1/runs", "{\"text\": \"summarize this thread\"}", headers);
    TestGateway.Answer other =
        gw.call("POST", "/v1/runs", "{\"text\": \"something else\"}", headers);
    assertEquals(202, first.status());
    assertEquals(202, again.status());
    assertEquals(first.body().path("run_id"), again.body().path("run_id"));
    assertTrue(again.body().path("replayed").asBoolean());
    assertEquals(409, other.status());
    assertEquals("idempotency_conflict", other.body().path("error").asText());
    gw.finish(first.body().path("run_id").asText());
  }

  @Test
  void theOperatorApiRefusesMissingOrWrongTokensAndBadBodies() {
    TestGateway.Answer none = gw.call("GET", "/v1/runs", null, Map.of());
    assertEquals(401, none.status());
    assertEquals("unauthorized", none.body().path("error").asText());
    TestGateway.Answer wrong =
        gw.call("GET", "/v1/runs", null, Map.of("Authorization", "Bearer nope"));
    assertEquals(401, wrong.status());
    TestGateway.Answer empty = gw.operator("POST", "/v1/runs", "{\"text\": \"  \"}");
    assertEquals(422, empty.status());
    assertEquals("invalid_body", empty.body().path("error").asText());
    TestGateway.Answer unknown =
        gw.operator("POST", "/v1/runs", "{\"text\": \"x\", \"admin\": true}");
    assertEquals(422, unknown.status());
    TestGateway.Answer broken = gw.operator("POST", "/v1/runs", "{\"text\": ");
    assertEquals(422, broken.status());
    TestGateway.Answer missing =
        gw.operator("GET", "/v1/runs/00000000-0000-4000-8000-000000000000", null);
    assertEquals(404, missing.status());
    assertEquals("not_found", missing.body().path("error").asText());
    assertEquals(200, gw.call("GET", "/healthz", null, Map.of()).status());
    assertEquals("ready", gw.call("GET", "/readyz", null, Map.of()).body().path("status").asText());
  }

  @Test
  void runsAreListedNewestFirst() {
    String a = gw.submit("summarize this thread");
    gw.finish(a);
    String b = gw.submit("what time is it?");
    gw.finish(b);
    JsonNode runs = gw.operator("GET", "/v1/runs?limit=10", null).body().path("runs");
    assertEquals(b, runs.get(0).path("run_id").asText());
    assertEquals(a, runs.get(1).path("run_id").asText());
    JsonNode succeeded = gw.operator("GET", "/v1/runs?status=succeeded", null).body().path("runs");
    assertEquals(2, succeeded.size());
    assertNotEquals(422, gw.operator("GET", "/v1/runs?status=succeeded", null).status());
    assertEquals(422, gw.operator("GET", "/v1/runs?status=bogus", null).status());
  }

  @Test
  void eachRunKeepsThePolicyVersionItWasCreatedUnder() {
    String before = gw.submit("open an issue in acme/widgets titled 'first'");
    gw.finish(before);
    String stricter =
        TestGateway.builtinPolicyForTests().replace("      - github.create_issue\n", "");
    TestGateway.Answer put =
        gw.call(
            "PUT",
            "/v1/policy",
            stricter,
            Map.of(
                "Authorization",
                "Bearer " + TestGateway.OPERATOR_TOKEN,
                "Content-Type",
                "application/yaml"));
    assertEquals(201, put.status(), put.raw().body());
    assertEquals(2, put.body().path("version").asInt());
    assertEquals(2, gw.operator("GET", "/v1/policy", null).body().path("version").asInt());

    JsonNode after = gw.finish(gw.submit("open an issue in acme/widgets titled 'second'"));
    assertEquals(2, after.path("policy_manifest").path("version").asInt());
    assertEquals(
        "rejected", after.path("status").asText(), "v2 no longer grants github.create_issue");
    assertEquals(1, gw.story(before).path("policy_manifest").path("version").asInt());
    assertEquals("succeeded", gw.story(before).path("status").asText());

    TestGateway.Answer invalid =
        gw.call(
            "PUT",
            "/v1/policy",
            "agents: {}\nbogus: 1\n",
            Map.of("Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN));
    assertEquals(422, invalid.status());
    assertEquals("invalid_policy", invalid.body().path("error").asText());
    assertTrue(invalid.body().path("violations").size() > 0);
    assertEquals(
        2, gw.operator("GET", "/v1/policy", null).body().path("version").asInt(), "nothing stored");
  }

  @Test
  void everySkillIsListedWithItsSchemaAndAvailability() {
    JsonNode skills = gw.operator("GET", "/v1/skills", null).body().path("skills");
    JsonNode create = null;
    for (JsonNode s : skills) {
      if (s.path("name").asText().equals("github.create_issue")) {
        create = s;
      }
    }
    assertTrue(create != null, skills.toString());
    assertTrue(create.path("side_effect").asBoolean());
    assertTrue(create.path("available").asBoolean(), "dry-run makes every skill available");
    assertEquals("object", create.path("input_schema").path("type").asText());
  }

  static JsonNode find(JsonNode steps, String ref) {
    for (JsonNode s : steps) {
      if (s.path("step_ref").asText().equals(ref)) {
        return s;
      }
    }
    throw new AssertionError("no step " + ref + " in " + steps);
  }
}
