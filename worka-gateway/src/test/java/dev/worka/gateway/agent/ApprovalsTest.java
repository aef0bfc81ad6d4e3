package dev.worka.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Approvals through the real routes of a live Gateway (real PostgreSQL, the counting GitHub MCP
 * server upstream, {@code live} side effects): the policy's {@code skills.github.create_issue.
 * approval}. The worker is parked ({@code sleep}) and the test speaks for it with its step's token;
 * it plays the attacker: it approves itself with its step token, changes the input after approval,
 * names an approval id in its call, and the operator decides twice, at once, and too late.
 */
class ApprovalsTest {
  private static final String ISSUER = "worka-gateway";
  private static final String GITHUB_TOKEN = "ghp-approvals-Secret-4242";
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

  private void start(String approval) throws Exception {
    github = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of());
    String policy = TestGateway.policyWith(Map.of("ernest", PARKED), null);
    String skill = "  github.create_issue:\n    side_effect: true\n";
    assertTrue(policy.contains(skill), "the built-in policy declares create_issue as expected");
    policy = policy.replace(skill, skill + "    approval: " + approval + "\n");
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            policy,
            "live",
            Map.of("GITHUB_MCP_URL", github.url(), "GITHUB_TOKEN", GITHUB_TOKEN));
  }

  record Step(String runId, UUID stepId, int attempt, String token) {}

  /** The step {@code file} once it runs its {@code attempt}-th attempt, with a token for it. */
  private Step running(String runId, int attempt) {
    AtomicInteger seen = new AtomicInteger();
    gw.followUntil(
        runId,
        e ->
            "file".equals(e.path("step_ref").asText())
                && "running".equals(e.path("to").asText())
                && seen.incrementAndGet() == attempt);
    JsonNode step = stepOf(gw.story(runId));
    assertEquals(attempt, step.path("attempt").asInt(), step.toString());
    UUID stepId = UUID.fromString(step.path("step_id").asText());
    String token =
        new TokenIssuer(SigningKeys.loadOrCreate(home), ISSUER, InstantSource.system())
            .mint(
                "ernest",
                UUID.fromString(runId),
                stepId,
                attempt,
                Instant.now().plus(Duration.ofMinutes(10)))
            .token();
    return new Step(runId, stepId, attempt, token);
  }

  private static JsonNode stepOf(JsonNode story) {
    return StreamSupport.stream(story.path("steps").spliterator(), false)
        .filter(s -> "file".equals(s.path("step_ref").asText()))
        .findFirst()
        .orElseThrow();
  }

  private TestGateway.Answer asWorker(Step step, String method, String path, String body) {
    return gw.call(
        method,
        path,
        body,
        body == null
            ? Map.of("Authorization", "Bearer " + step.token())
            : Map.of(
                "Authorization", "Bearer " + step.token(), "Content-Type", "application/json"));
  }

  private TestGateway.Answer call(Step step, String title, String key) {
    ObjectNode body = Json.STRICT.createObjectNode();
    body.putObject("input").put("owner", "acme").put("repo", "widgets").put("title", title);
    if (key != null) {
      body.put("idempotency_key", key);
    }
    return asWorker(step, "POST", SKILL, body.toString());
  }

  private static List<JsonNode> gates(JsonNode story, String action) {
    List<JsonNode> found = new ArrayList<>();
    story
        .path("gates")
        .forEach(
            g -> {
              if (action.equals(g.path("action").asText())) {
                found.add(g);
              }
            });
    return found;
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void onlyTheApprovedCallIsPerformedOnceAndTheStepResumesWithItsOutcome() throws Exception {
    start("{approvers: [operator, slack:U0123], expires: 10m}");
    String runId = gw.submit("open an issue in acme/widgets titled 'approve me'");
    Step first = running(runId, 1);

    // The call that needs approval: 202, its approval id, no effect; the step waits.
    TestGateway.Answer held = call(first, "approve me", "k-1");
    assertEquals(202, held.status(), held.raw().body());
    assertEquals("awaiting_approval", held.body().path("status").asText());
    String approvalId = held.body().path("approval_id").asText();
    assertEquals(0, github.calls("create_issue"), "nothing reached the upstream");
    assertEquals("awaiting_approval", stepOf(gw.story(runId)).path("status").asText());

    // The worker approves itself with its step token: not an operator token.
    for (String path :
        List.of("/v1/approvals/" + approvalId + "/approve", "/v1/approvals/" + approvalId)) {
      TestGateway.Answer self =
          asWorker(first, path.endsWith("approve") ? "POST" : "GET", path, null);
      assertEquals(401, self.status(), self.raw().body());
      assertEquals("unauthorized", self.body().path("error").asText());
    }
    // Its attempt is over: the token no longer works, so nothing is held while a person decides.
    TestGateway.Answer afterwards = call(first, "approve me", "k-1");
    assertEquals(401, afterwards.status(), afterwards.raw().body());

    // The operator sees exactly the held call.
    TestGateway.Answer pending = gw.operator("GET", "/v1/approvals?status=pending", null);
    assertEquals(200, pending.status(), pending.raw().body());
    JsonNode item = pending.body().path("approvals").get(0);
    assertEquals(approvalId, item.path("approval_id").asText());
    assertEquals(runId, item.path("run_id").asText());
    assertEquals(first.stepId().toString(), item.path("step_id").asText());
    assertEquals("pending", item.path("status").asText());
    assertEquals("github.create_issue", item.path("skill").asText());
    assertEquals("approve me", item.path("input").path("title").asText());
    assertEquals(64, item.path("input_sha256").asText().length());
    assertEquals(List.of("operator", "slack:U0123"), strings(item.path("approvers")));
    assertTrue(item.path("decided_by").isNull());

    // Two decisions at once (two clicks, two Gateways): exactly one wins, the effect happens once.
    ExecutorService both = Executors.newFixedThreadPool(2);
    List<Future<TestGateway.Answer>> answers;
    try {
      Callable<TestGateway.Answer> approve =
          () -> gw.operator("POST", "/v1/approvals/" + approvalId + "/approve", null);
      answers = both.invokeAll(List.of(approve, approve));
    } finally {
      both.shutdown();
    }
    List<Integer> statuses = new ArrayList<>();
    TestGateway.Answer won = null;
    for (Future<TestGateway.Answer> f : answers) {
      TestGateway.Answer a = f.get();
      statuses.add(a.status());
      if (a.status() == 200) {
        won = a;
      } else {
        assertEquals("approval_decided", a.body().path("error").asText(), a.raw().body());
      }
    }
    assertEquals(List.of(200, 409), statuses.stream().sorted().toList());
    assertEquals("approved", won.body().path("status").asText());
    assertEquals("operator", won.body().path("decided_by").asText());
    assertEquals("performed", won.body().path("call").path("status").asText());
    String invocationId = won.body().path("call").path("invocation_id").asText();
    assertEquals(1, github.effects("create_issue"));
    // A later denial of the approved request changes nothing either.
    TestGateway.Answer late = gw.operator("POST", "/v1/approvals/" + approvalId + "/deny", null);
    assertEquals(409, late.status(), late.raw().body());
    assertEquals("approval_decided", late.body().path("error").asText());

    // The step runs again; its identical call gets the approved call's outcome, no second effect.
    Step second = running(runId, 2);
    TestGateway.Answer changed = call(second, "approve something else", "k-1");
    assertEquals(409, changed.status(), changed.raw().body());
    assertEquals("idempotency_conflict", changed.body().path("error").asText());
    TestGateway.Answer replay = call(second, "approve me", "k-1");
    assertEquals(200, replay.status(), replay.raw().body());
    assertTrue(replay.body().path("replayed").asBoolean(), replay.raw().body());
    assertEquals(invocationId, replay.body().path("invocation_id").asText());
    assertEquals(1, github.effects("create_issue"));
    assertEquals(1, github.calls("create_issue"));

    // Another input (under another key) needs its own approval; denied, the step fails.
    TestGateway.Answer other = call(second, "approve something else", "k-2");
    assertEquals(202, other.status(), other.raw().body());
    String otherId = other.body().path("approval_id").asText();
    assertNotEquals(approvalId, otherId);
    TestGateway.Answer denied =
        gw.operator("POST", "/v1/approvals/" + otherId + "/deny", "{\"reason\": \"not this one\"}");
    assertEquals(200, denied.status(), denied.raw().body());
    assertEquals("denied", denied.body().path("status").asText());
    assertEquals(1, github.effects("create_issue"));

    JsonNode story = gw.finish(runId);
    assertEquals("failed", story.path("status").asText(), story.toString());
    JsonNode step = stepOf(story);
    assertEquals("failed", step.path("status").asText());

    List<JsonNode> requests = gates(story, "approval.request");
    assertEquals(2, requests.size(), story.path("gates").toString());
    assertEquals("ernest", requests.get(0).path("subject").asText());
    List<JsonNode> decisions = gates(story, "approval.decide");
    assertEquals(2, decisions.size(), story.path("gates").toString());
    assertEquals("allow", decisions.get(0).path("status").asText());
    assertEquals("operator", decisions.get(0).path("subject").asText());
    assertEquals("deny", decisions.get(1).path("status").asText());
    assertEquals("operator", decisions.get(1).path("subject").asText());
    assertTrue(
        decisions.get(1).path("reason").asText().contains("denied by operator: not this one"),
        decisions.get(1).toString());
    TestGateway.Answer verify = gw.operator("GET", "/v1/audit/verify", null);
    assertEquals(200, verify.status(), verify.raw().body());
  }

  @Test
  void anApprovalBindsItsStepAndRunAndAWorkerCannotNameOne() throws Exception {
    start("{when: 'input.owner == \"acme\"', approvers: [operator], expires: 10m}");
    String runA = gw.submit("open an issue in acme/widgets titled 'run a'");
    Step a = running(runA, 1);
    TestGateway.Answer held = call(a, "same title", null);
    assertEquals(202, held.status(), held.raw().body());
    String approvalId = held.body().path("approval_id").asText();

    // Another run's worker makes the very same call: its own request, never the other's approval.
    String runB = gw.submit("open an issue in acme/widgets titled 'run b'");
    Step b = running(runB, 1);
    ObjectNode naming = Json.STRICT.createObjectNode();
    naming.putObject("input").put("owner", "acme").put("repo", "widgets").put("title", "x");
    naming.put("approval_id", approvalId);
    TestGateway.Answer named = asWorker(b, "POST", SKILL, naming.toString());
    assertEquals(422, named.status(), named.raw().body());
    // Over MCP this time: the same hold, as a tool error carrying its approval id.
    ObjectNode request =
        Json.STRICT
            .createObjectNode()
            .put("jsonrpc", "2.0")
            .put("id", 7)
            .put("method", "tools/call");
    ObjectNode params = request.putObject("params").put("name", "github.create_issue");
    params
        .putObject("arguments")
        .put("owner", "acme")
        .put("repo", "widgets")
        .put("title", "same title");
    TestGateway.Answer viaMcp =
        gw.call(
            "POST",
            McpSkillServer.PATH,
            request.toString(),
            Map.of(
                "Authorization",
                "Bearer " + b.token(),
                "Content-Type",
                "application/json",
                "Accept",
                "application/json, text/event-stream"));
    assertEquals(200, viaMcp.status(), viaMcp.raw().body());
    JsonNode result = viaMcp.body().path("result");
    assertTrue(result.path("isError").asBoolean(), result.toString());
    JsonNode own = Json.STRICT.readTree(result.path("content").get(0).path("text").asText());
    assertEquals("awaiting_approval", own.path("error").asText(), own.toString());
    String ownId = own.path("approval_id").asText();
    assertNotEquals(approvalId, ownId);
    assertEquals(
        runB, gw.operator("GET", "/v1/approvals/" + ownId, null).body().path("run_id").asText());
    assertEquals(0, github.calls("create_issue"));

    // The operator's CLI: list (waiting until one is pending), approve; run A's call only.
    Cli waited = worka("approvals", "list", "--wait", "--timeout", "30s");
    assertEquals(0, waited.status(), waited.err());
    assertTrue(waited.out().contains(approvalId), waited.out());
    assertTrue(waited.out().contains("\"title\":\"same title\""), waited.out());
    Cli approved = worka("approvals", "approve", approvalId);
    assertEquals(0, approved.status(), approved.err());
    assertTrue(
        approved.out().contains("approved by operator; the call was performed"), approved.out());
    Cli again = worka("approvals", "deny", approvalId, "--reason", "too late");
    assertEquals(1, again.status(), again.out());
    assertTrue(again.err().contains("already approved by operator"), again.err());
    assertEquals(1, github.effects("create_issue"));
    assertEquals(
        "awaiting_approval", stepOf(gw.story(runB)).path("status").asText(), "run b still waits");
    TestGateway.Answer pending = gw.operator("GET", "/v1/approvals?status=pending", null);
    assertEquals(1, pending.body().path("approvals").size(), pending.raw().body());
    assertEquals(runB, pending.body().path("approvals").get(0).path("run_id").asText());

    // Run B is cancelled while it waits: its request can no longer be approved into an effect.
    String bId = pending.body().path("approvals").get(0).path("approval_id").asText();
    assertEquals(200, gw.operator("POST", "/v1/runs/" + runB + "/cancel", null).status());
    assertEquals("cancelled", stepOf(gw.story(runB)).path("status").asText());
    TestGateway.Answer afterCancel = gw.operator("POST", "/v1/approvals/" + bId + "/approve", null);
    assertEquals(409, afterCancel.status(), afterCancel.raw().body());
    assertEquals("illegal_state", afterCancel.body().path("error").asText());
    assertEquals(1, github.effects("create_issue"));

    TestGateway.Answer unknown =
        gw.operator("POST", "/v1/approvals/" + UUID.randomUUID() + "/approve", null);
    assertEquals(404, unknown.status(), unknown.raw().body());
  }

  @Test
  void aStrangersDecisionDoesNotCountAndAnExpiredRequestFailsItsStepAsExpired() throws Exception {
    start("{approvers: [slack:U0123], expires: 5s}");
    String runId = gw.submit("open an issue in acme/widgets titled 'nobody decides'");
    Step step = running(runId, 1);
    TestGateway.Answer held = call(step, "nobody decides", null);
    assertEquals(202, held.status(), held.raw().body());
    String approvalId = held.body().path("approval_id").asText();

    // The operator is not a named approver here: refused, recorded, nothing changes.
    TestGateway.Answer stranger =
        gw.operator("POST", "/v1/approvals/" + approvalId + "/approve", null);
    assertEquals(403, stranger.status(), stranger.raw().body());
    assertEquals("not_an_approver", stranger.body().path("error").asText());
    assertEquals(
        "pending",
        gw.operator("GET", "/v1/approvals/" + approvalId, null).body().path("status").asText());

    // Nobody decides: the sweep expires it and the step fails with its own reason.
    JsonNode story = gw.finish(runId);
    assertEquals("failed", story.path("status").asText(), story.toString());
    JsonNode failed = stepOf(story);
    assertEquals("failed", failed.path("status").asText());
    assertTrue(failed.path("error").asText().startsWith("approval_expired:"), failed.toString());
    assertTrue(
        StreamSupport.stream(story.path("burns").spliterator(), false)
            .anyMatch(burn -> "approval_expired".equals(burn.path("kind").asText())),
        story.path("burns").toString());
    List<JsonNode> expired = gates(story, "approval.expire");
    assertEquals(1, expired.size(), story.path("gates").toString());
    assertEquals("deny", expired.get(0).path("status").asText());
    List<JsonNode> decided = gates(story, "approval.decide");
    assertEquals(1, decided.size());
    assertEquals("operator", decided.get(0).path("subject").asText());
    assertEquals("deny", decided.get(0).path("status").asText());
    assertFalse(
        StreamSupport.stream(story.path("gates").spliterator(), false)
            .anyMatch(g -> g.path("reason").asText().contains("denied by")),
        "an expiry is not a denial");

    // A decision after expiry: 409 approval_expired, and still no effect.
    TestGateway.Answer late = gw.operator("POST", "/v1/approvals/" + approvalId + "/deny", null);
    assertEquals(409, late.status(), late.raw().body());
    assertEquals("approval_expired", late.body().path("error").asText());
    assertEquals(
        "expired",
        gw.operator("GET", "/v1/approvals/" + approvalId, null).body().path("status").asText());
    assertEquals(0, github.calls("create_issue"));
  }

  record Cli(int status, String out, String err) {}

  private Cli worka(String... args) {
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    int status =
        dev.worka.gateway.cli.WorkaCli.execute(
            Map.of("WORKA_URL", gw.baseUrl, "WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN),
            new java.io.PrintWriter(out, true),
            new java.io.PrintWriter(err, true),
            args);
    return new Cli(status, out.toString(), err.toString());
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
