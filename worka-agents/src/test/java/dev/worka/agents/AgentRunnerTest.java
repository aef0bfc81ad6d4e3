package dev.worka.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.agents.scripted.ScriptedModel;
import dev.worka.protocol.AgentEnvironment;
import dev.worka.protocol.Json;
import dev.worka.protocol.PlanningContext;
import dev.worka.protocol.RequestContext;
import dev.worka.protocol.SkillSpec;
import dev.worka.protocol.StepEnvelope;
import dev.worka.protocol.StepResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner end to end, as a child process of the Gateway would run, against a stand-in. */
class AgentRunnerTest {
  private static final String TRACEPARENT =
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

  private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
  private final List<Duration> pauses = new CopyOnWriteArrayList<>();
  private final Map<String, Agent> agents = new HashMap<>(BuiltInAgents.using(new ScriptedModel()));
  private Duration heartbeatEvery = Duration.ofHours(1);
  private StandInGateway gateway;

  @AfterEach
  void neverPrintsTheTokenAndStopsTheGateway() {
    assertFalse(stderr().contains(StandInGateway.TOKEN), "the token was printed:\n" + stderr());
    if (gateway != null) {
      gateway.close();
    }
  }

  private String stderr() {
    return stderr.toString(StandardCharsets.UTF_8);
  }

  private int run(Map<String, String> env, String... args) {
    AgentRunner runner =
        new AgentRunner(
            agents,
            heartbeatEvery,
            pauses::add,
            new PrintStream(stderr, true, StandardCharsets.UTF_8));
    return runner.run(env, args);
  }

  private StandInGateway start(StepEnvelope envelope) throws IOException {
    gateway = new StandInGateway(envelope);
    return gateway;
  }

  private static JsonNode json(String text) {
    try {
      return Json.LENIENT.readTree(text);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }

  private static StepEnvelope worker(
      String agent, String objective, RequestContext request, String... skills) {
    return new StepEnvelope(
        "run-1",
        "step-1",
        "file",
        1,
        agent,
        StepEnvelope.ROLE_WORKER,
        objective,
        request,
        List.of(skills).stream().map(s -> new SkillSpec(s, s, null, true)).toList(),
        List.of(),
        List.of(),
        "2030-01-01T00:00:00Z",
        null);
  }

  private static StepEnvelope planner(String text) {
    return new StepEnvelope(
        "run-1",
        "step-0",
        "plan",
        1,
        "hari",
        StepEnvelope.ROLE_PLANNER,
        "Plan the request",
        new RequestContext(text, "api", "alice", null, null),
        List.of(),
        List.of(),
        List.of(),
        "2030-01-01T00:00:00Z",
        new PlanningContext(
            List.of(
                new PlanningContext.AgentOffer("ernest", "GitHub", List.of("github.create_issue"))),
            8));
  }

  private static final RequestContext API_REQUEST =
      new RequestContext(
          "open an issue in acme/widgets titled Fix the login bug", "api", "alice", null, null);

  @Test
  void ernestOpensAnIssueThroughTheGatewayAndReportsIt() throws IOException {
    start(
        worker(
            "ernest",
            "Open an issue in acme/widgets titled 'Fix the login bug'",
            API_REQUEST,
            "github.create_issue"));
    gateway.skills =
        (skill, body) ->
            StandInGateway.Reply.json(
                200,
                """
                {"invocation_id": "inv-7", "replayed": false,
                 "output": {"number": 7, "html_url": "https://github.com/acme/widgets/issues/7"}}
                """);

    assertEquals(0, run(gateway.env("ernest"), "ernest"));

    List<StandInGateway.Call> skillCalls = gateway.skillCalls();
    assertEquals(1, skillCalls.size());
    assertEquals("/v1/agent/skills/github.create_issue", skillCalls.get(0).path());
    JsonNode call = skillCalls.get(0).body();
    assertEquals(
        json(
            """
            {"owner": "acme", "repo": "widgets", "title": "Fix the login bug",
             "body": "Filed by Worka for the request: open an issue in acme/widgets titled Fix the login bug"}
            """),
        call.path("input"));
    assertTrue(call.path("idempotency_key").asText().startsWith("step-1:"), call.toString());

    assertEquals(
        json(
            """
            {"status": "succeeded",
             "summary": "Opened issue 'Fix the login bug' in acme/widgets: https://github.com/acme/widgets/issues/7",
             "output": {"skill": "github.create_issue", "invocation_id": "inv-7",
                        "upstream": {"number": 7, "html_url": "https://github.com/acme/widgets/issues/7"}}}
            """),
        gateway.result());

    for (StandInGateway.Call c : gateway.calls) {
      assertEquals("Bearer " + StandInGateway.TOKEN, c.authorization(), c.path());
      assertEquals("application/json", c.contentType(), c.path());
      assertEquals(TRACEPARENT, c.traceparent(), c.path());
    }
  }

  @Test
  void aPolicyDenialBecomesAFailedResultWithTheReason() throws IOException {
    start(
        worker(
            "ernest",
            "Open an issue in acme/secret titled 'Leak'",
            API_REQUEST,
            "github.create_issue"));
    gateway.skills =
        (skill, body) ->
            StandInGateway.Reply.json(
                403,
                """
                {"error": "policy_denied", "message": "the policy does not allow this call",
                 "gate_id": "gate-9", "reason": "acme/secret is not in lists.github_repos"}
                """);

    assertEquals(0, run(gateway.env("ernest"), "ernest"));

    assertEquals(
        json(
            """
            {"status": "failed", "retryable": false,
             "error": "github.create_issue was denied by policy: acme/secret is not in lists.github_repos (gate gate-9)"}
            """),
        gateway.result());
    assertTrue(stderr().contains("denied by policy"), stderr());
  }

  @Test
  void aSkillTheStepWasNotGivenIsNotAskedFor() throws IOException {
    start(
        worker("ernest", "Delete the repository acme/widgets", API_REQUEST, "github.create_issue"));

    assertEquals(0, run(gateway.env("ernest"), "ernest"));

    assertEquals(List.of(), gateway.skillCalls());
    JsonNode result = gateway.result();
    assertEquals("failed", result.path("status").asText());
    assertEquals(
        "Ernest did not call github.delete_repository: it is not one of this step's skills"
            + " (github.create_issue), so the plan would have to grant it",
        result.path("error").asText());
  }

  @Test
  void readsTheTokenFromWorkaTokenFile(@TempDir Path dir) throws IOException {
    start(
        worker(
            "ernest", "Comment on acme/widgets#3: Fixed", API_REQUEST, "github.add_issue_comment"));
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, "\n  " + StandInGateway.TOKEN + "\n");
    Map<String, String> env = gateway.env("ernest");
    env.remove(AgentEnvironment.TOKEN);
    env.put(AgentEnvironment.TOKEN_FILE, tokenFile.toString());

    assertEquals(0, run(env));

    assertEquals(
        json(
            "{\"owner\": \"acme\", \"repo\": \"widgets\", \"issue_number\": 3, \"body\":"
                + " \"Fixed\"}"),
        gateway.skillCalls().get(0).body().path("input"));
    assertEquals("succeeded", gateway.result().path("status").asText());
  }

  @Test
  void exitsWithTwoWhenTheEnvironmentIsUnusable(@TempDir Path dir) throws IOException {
    start(worker("ernest", "x", API_REQUEST));

    assertEquals(2, run(Map.of(), "ernest"));
    assertTrue(stderr().contains("WORKA_GATEWAY_URL is not set"), stderr());

    Map<String, String> noToken = gateway.env("ernest");
    noToken.remove(AgentEnvironment.TOKEN);
    assertEquals(2, run(noToken));
    assertTrue(stderr().contains("no token: set WORKA_TOKEN or WORKA_TOKEN_FILE"), stderr());

    Map<String, String> missingFile = gateway.env("ernest");
    missingFile.remove(AgentEnvironment.TOKEN);
    missingFile.put(AgentEnvironment.TOKEN_FILE, dir.resolve("absent").toString());
    assertEquals(2, run(missingFile));
    assertTrue(stderr().contains("which does not exist"), stderr());

    Map<String, String> noAgent = gateway.env("ernest");
    noAgent.remove(AgentEnvironment.AGENT);
    assertEquals(2, run(noAgent));
    assertTrue(stderr().contains("no agent named"), stderr());

    assertEquals(2, run(gateway.env("ernest"), "r2d2"));
    assertTrue(
        stderr()
            .contains("there is no built-in agent named 'r2d2' (built in: daneel, ernest, hari)"),
        stderr());

    Map<String, String> badUrl = gateway.env("ernest");
    badUrl.put(AgentEnvironment.GATEWAY_URL, "file:///etc/passwd");
    assertEquals(2, run(badUrl));

    assertEquals(2, run(gateway.env("ernest"), "ernest", "daneel"));

    assertEquals(List.of(), gateway.calls, "nothing may be sent with an unusable environment");
  }

  @Test
  void hariProposesThePlanAndReportsWhereItsStepsWent() throws IOException {
    start(planner("summarize this thread and file it as an issue in acme/widgets"));
    gateway.plans =
        body ->
            StandInGateway.Reply.json(
                201,
                "{\"plan_id\": \"plan-1\", \"plan_hash\": \"abc\", \"steps\": {\"read\": \"s-r\","
                    + " \"file\": \"s-f\"}}");

    assertEquals(0, run(gateway.env("hari"), "hari"));

    assertEquals(
        json(
            """
            {"summary": "Summarize the Slack thread and file the summary as an issue in acme/widgets.",
             "steps": [
               {"step_ref": "read", "agent": "daneel", "objective": "Summarize this thread",
                "skills": ["slack.read_thread"], "depends_on": []},
               {"step_ref": "file", "agent": "ernest",
                "objective": "Open an issue in acme/widgets titled 'Thread summary' with the summary of step read",
                "skills": ["github.create_issue"], "depends_on": ["read"]}]}
            """),
        gateway.callsTo("/v1/agent/plan").get(0).body());
    assertEquals(
        json(
            """
            {"status": "succeeded",
             "summary": "Planned 2 steps: Summarize the Slack thread and file the summary as an issue in acme/widgets.",
             "output": {"plan_id": "plan-1", "plan_hash": "abc", "steps": {"file": "s-f", "read": "s-r"}}}
            """),
        gateway.result());
  }

  @Test
  void hariRetriedWithAnotherPlanEndsItsStepWithTheOneAnEarlierAttemptHadAccepted()
      throws IOException {
    start(planner("summarize this thread and file it as an issue in acme/widgets"));
    gateway.plans =
        body ->
            StandInGateway.Reply.json(
                409,
                """
                {"error": "plan_conflict", "message": "plan 0123456789ab is already accepted for this run",
                 "gate_id": "g-1", "reason": "plan 0123456789ab is already accepted for this run",
                 "accepted_plan": {"plan_id": "plan-0", "plan_hash": "0123456789abcdef",
                                   "steps": {"read": "s-r"}}}
                """);

    assertEquals(0, run(gateway.env("hari"), "hari"));

    assertEquals(1, gateway.callsTo("/v1/agent/plan").size(), "the refused plan is not sent again");
    assertEquals(
        json(
            """
            {"status": "succeeded",
             "summary": "Planned 1 step (the plan an earlier attempt had accepted; the one proposed now was refused)",
             "output": {"plan_id": "plan-0", "plan_hash": "0123456789abcdef", "steps": {"read": "s-r"}}}
            """),
        gateway.result());
  }

  @Test
  void hariPlansTheDangerousRequestAndTheGatewayRejectsIt() throws IOException {
    start(planner("delete the repository acme/widgets"));
    gateway.plans =
        body ->
            StandInGateway.Reply.json(
                422,
                """
                {"error": "invalid_plan", "message": "the plan is not valid",
                 "violations": ["steps[0] (delete): agent ernest may not use skill github.delete_repository"]}
                """);

    assertEquals(0, run(gateway.env("hari"), "hari"));

    JsonNode plan = gateway.callsTo("/v1/agent/plan").get(0).body();
    assertEquals("ernest", plan.path("steps").path(0).path("agent").asText());
    assertEquals(json("[\"github.delete_repository\"]"), plan.path("steps").path(0).path("skills"));
    assertEquals(
        json(
            """
            {"status": "failed", "retryable": false,
             "error": "The Gateway rejected the plan: steps[0] (delete): agent ernest may not use skill github.delete_repository"}
            """),
        gateway.result());
  }

  @Test
  void daneelReadsTheThreadTheRunCameFrom() throws IOException {
    start(
        worker(
            "daneel",
            "Summarize this thread",
            new RequestContext(
                "summarize this thread", "slack", "U1", "C0123", "1712345678.000100"),
            "slack.read_thread"));
    gateway.skills =
        (skill, body) ->
            StandInGateway.Reply.json(
                200,
                """
                {"invocation_id": "inv-3", "replayed": false, "output": {"ok": true, "messages": [
                  {"user": "U1", "text": "Build is red", "ts": "1"},
                  {"user": "U2", "text": "Fixed in #42", "ts": "2"}]}}
                """);

    assertEquals(0, run(gateway.env("daneel"), "daneel"));

    assertEquals("/v1/agent/skills/slack.read_thread", gateway.skillCalls().get(0).path());
    assertEquals(
        json("{\"channel\": \"C0123\", \"ts\": \"1712345678.000100\", \"limit\": 100}"),
        gateway.skillCalls().get(0).body().path("input"));
    JsonNode result = gateway.result();
    assertEquals(
        "Slack thread with 2 messages from 2 participants (U1, U2). It starts: \"Build is red\"."
            + " The last message, from U2: \"Fixed in #42\".",
        result.path("summary").asText());
    assertEquals(result.path("summary"), result.path("output").path("summary"));
  }

  @Test
  void retriesAnUnavailableGatewayWithoutSleepingInTests() throws IOException {
    start(worker("daneel", "Summarize this thread", API_REQUEST, "slack.read_thread"));
    gateway.contextUnavailable.set(2);

    assertEquals(0, run(gateway.env("daneel"), "daneel"));

    assertEquals(3, gateway.callsTo("/v1/agent/context").size());
    assertEquals(List.of(Duration.ofMillis(250), Duration.ofMillis(500)), pauses);
    assertEquals("succeeded", gateway.result().path("status").asText());
  }

  @Test
  void neverRetriesAClientError() throws IOException {
    start(
        worker(
            "ernest",
            "Open an issue in acme/widgets titled 'T'",
            API_REQUEST,
            "github.create_issue"));
    gateway.skills =
        (skill, body) ->
            StandInGateway.Reply.json(
                422, "{\"error\": \"invalid_body\", \"message\": \"input.title is too long\"}");

    assertEquals(0, run(gateway.env("ernest"), "ernest"));

    assertEquals(1, gateway.skillCalls().size());
    assertEquals(List.of(), pauses);
    assertEquals(
        json(
            """
            {"status": "failed", "retryable": false,
             "error": "github.create_issue failed: the Gateway answered HTTP 422 invalid_body: input.title is too long"}
            """),
        gateway.result());
  }

  @Test
  void exitsWithOneWhenTheResultCannotBeDelivered() throws IOException {
    start(worker("daneel", "Answer: hello?", API_REQUEST));
    gateway.resultReply =
        StandInGateway.Reply.json(500, "{\"error\": \"internal\", \"message\": \"boom\"}");

    assertEquals(1, run(gateway.env("daneel"), "daneel"));
    assertTrue(stderr().contains("the result could not be delivered"), stderr());
  }

  @Test
  void aRejectedTokenEndsWithoutAResult() throws IOException {
    start(worker("daneel", "Answer: hello?", API_REQUEST));
    Map<String, String> env = gateway.env("daneel");
    env.put(AgentEnvironment.TOKEN, "not.the.token");

    assertEquals(1, run(env, "daneel"));

    assertEquals(2, gateway.calls.size(), "one context call and one result attempt, no retries");
    assertTrue(stderr().contains("HTTP 401 unauthorized"), stderr());
  }

  @Test
  void anUnreachableGatewayIsRetriedThenGivenUp() throws IOException {
    start(worker("daneel", "Answer: hello?", API_REQUEST));
    Map<String, String> env = gateway.env("daneel");
    gateway.close();

    assertEquals(1, run(env, "daneel"));

    // Three retries of the context call, then three of the result call.
    assertEquals(6, pauses.size());
    assertTrue(stderr().contains("cannot connect to"), stderr());
  }

  @Test
  void anAgentThatThrowsIsReportedAsFailed() throws IOException {
    agents.put(
        "broken",
        (step, gw) -> {
          throw new IllegalStateException("the model returned nonsense");
        });
    start(worker("broken", "x", API_REQUEST));

    assertEquals(0, run(gateway.env("broken"), "broken"));

    JsonNode result = gateway.result();
    assertEquals("failed", result.path("status").asText());
    assertEquals(
        "the agent stopped with an unexpected error: java.lang.IllegalStateException: the model"
            + " returned nonsense",
        result.path("error").asText());
    assertTrue(result.path("retryable").isMissingNode(), "the Gateway decides whether to retry");
  }

  @Test
  void sendsHeartbeatsWhileTheAgentWorks() throws IOException {
    heartbeatEvery = Duration.ofMillis(5);
    agents.put(
        "patient",
        (step, gw) -> {
          try {
            boolean seen = gateway.heartbeatSeen.await(10, TimeUnit.SECONDS);
            return StepResult.succeeded(
                "heartbeat seen: " + seen, Json.LENIENT.createObjectNode().put("seen", seen));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
          }
        });
    start(worker("patient", "x", API_REQUEST));

    assertEquals(0, run(gateway.env("patient"), "patient"));

    assertEquals("heartbeat seen: true", gateway.result().path("summary").asText());
    StandInGateway.Call heartbeat = gateway.callsTo("/v1/agent/heartbeat").get(0);
    assertEquals(json("{}"), heartbeat.body());
    assertEquals("Bearer " + StandInGateway.TOKEN, heartbeat.authorization());
  }

  @Test
  void cutsAnOverlongSummarySoTheResultIsStillDelivered() throws IOException {
    agents.put(
        "wordy",
        (step, gw) -> StepResult.succeeded("é".repeat(10_000), Json.LENIENT.createObjectNode()));
    start(worker("wordy", "x", API_REQUEST));

    assertEquals(0, run(gateway.env("wordy"), "wordy"));

    assertEquals(
        "é".repeat(AgentRunner.MAX_RESULT_TEXT - 1) + "…",
        gateway.result().path("summary").asText());
  }

  @Test
  void theAgentArgumentWinsOverWorkaAgent() throws IOException {
    start(worker("daneel", "Answer: hello?", API_REQUEST));
    Map<String, String> env = gateway.env("hari");

    assertEquals(0, run(env, "daneel"));

    assertTrue(gateway.callsTo("/v1/agent/plan").isEmpty());
    assertTrue(gateway.result().path("summary").asText().contains("cannot answer \"hello?\""));
  }
}
