package dev.worka.gateway.ingress.github;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.StreamSupport;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * GitHub approvers decide with a comment ({@code /worka approve ID}, {@code /worka deny ID
 * [reason]}) on the issue of the run whose call is held: signed comment deliveries to a real
 * Gateway (embedded PostgreSQL, {@code live} side effects, the counting GitHub MCP server as
 * GitHub, the built-in planner and worker processes). As an attacker would try it: an unsigned or
 * forged delivery, an edited comment, a bot's comment and one carrying Worka's own marker, a
 * stranger's command on the right issue, the named approver's command on another run's issue and on
 * the same number in another repository, a replayed delivery — and the named approver's, which
 * performs the held call once, records the gate with {@code github:<login>}, and lets the run
 * finish: its next attempt's identical call is answered with the approved call's outcome.
 */
class GithubApprovalCommentTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  private static final String SECRET = "webhook-secret-for-approvals-0123456789";
  private static final String TOKEN = "ghp_approvalcommenttoken0123456789abcd";
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final AtomicLong COMMENT_IDS = new AtomicLong(5000);

  @TempDir static Path home;
  private static CountingGithubMcpServer github;
  private static TestGateway gw;
  private static String policy;

  @BeforeAll
  static void start() throws Exception {
    github = CountingGithubMcpServer.http(0, TOKEN, Set.of());
    policy = TestGateway.builtinPolicyForTests();
    String skill = "  github.create_issue:\n    side_effect: true\n";
    assertTrue(policy.contains(skill), "the built-in policy declares create_issue as expected");
    policy =
        policy.replace(
            skill, skill + "    approval: {approvers: [github:OctoCat, operator], expires: 10m}\n");
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            policy,
            "live",
            Map.of(
                "GITHUB_MCP_URL",
                github.url(),
                "GITHUB_TOKEN",
                TOKEN,
                "GITHUB_WEBHOOK_SECRET",
                SECRET));
  }

  @AfterAll
  static void stop() {
    if (gw != null) {
      gw.close();
    }
    if (github != null) {
      github.close();
    }
  }

  // --- deliveries -------------------------------------------------------------------------------

  private static String sign(String body, String secret) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  /** An {@code issue_comment} delivery as GitHub sends it. */
  private static String comment(
      String action, String repo, long issue, String login, String type, String text) {
    ObjectNode d = Json.STRICT.createObjectNode().put("action", action);
    d.putObject("issue").put("number", issue).put("title", "Needs approval");
    long id = COMMENT_IDS.incrementAndGet();
    ObjectNode c =
        d.putObject("comment")
            .put("id", id)
            .put("body", text)
            .put("html_url", "https://github.test/acme/" + repo + "/issues/" + issue + "#c" + id)
            .put("author_association", "OWNER");
    c.putObject("user").put("login", login).put("type", type);
    d.putObject("repository")
        .put("name", repo)
        .put("full_name", "acme/" + repo)
        .putObject("owner")
        .put("login", "acme");
    d.putObject("sender").put("login", login).put("type", type);
    return d.toString();
  }

  private static TestGateway.Answer deliver(String body, String signature) {
    Map<String, String> headers = new java.util.HashMap<>();
    headers.put("Content-Type", "application/json");
    headers.put("X-GitHub-Event", "issue_comment");
    headers.put("X-GitHub-Delivery", UUID.randomUUID().toString());
    if (signature != null) {
      headers.put("X-Hub-Signature-256", signature);
    }
    return gw.call("POST", "/github/webhook", body, headers);
  }

  private static JsonNode signed(String body) throws Exception {
    TestGateway.Answer a = deliver(body, sign(body, SECRET));
    assertEquals(202, a.status(), a.raw().body());
    return a.body();
  }

  // --- the run and its held call ----------------------------------------------------------------

  /**
   * A run started by {@code requester}'s signed comment on acme/widgets#{@code issue}; its call
   * held. Returns the run id and the approval id.
   */
  private static String[] heldOnIssue(long issue, String title, String requester) throws Exception {
    JsonNode started =
        signed(
            comment(
                "created",
                "widgets",
                issue,
                requester,
                "User",
                "@worka open an issue in acme/widgets titled '" + title + "'"));
    String runId = started.path("run_id").asText();
    assertEquals(36, runId.length(), started.toString());
    gw.followUntil(runId, e -> "awaiting_approval".equals(e.path("to").asText()));
    JsonNode pending = gw.operator("GET", "/v1/approvals?limit=500", null).body();
    String id =
        StreamSupport.stream(pending.path("approvals").spliterator(), false)
            .filter(a -> runId.equals(a.path("run_id").asText()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no approval of " + runId + ": " + pending))
            .path("approval_id")
            .asText();
    assertEquals(title, approval(id).path("input").path("title").asText());
    return new String[] {runId, id};
  }

  private static JsonNode approval(String id) {
    return gw.operator("GET", "/v1/approvals/" + id, null).body();
  }

  private static List<String> decisions(String runId) {
    List<String> out = new ArrayList<>();
    for (JsonNode g : gw.story(runId).path("gates")) {
      if ("approval.decide".equals(g.path("action").asText())) {
        out.add(g.path("status").asText() + " " + g.path("subject").asText());
      }
    }
    return out;
  }

  /** The run's notification kinds (the outbox rows, written with the decision or not at all). */
  private static List<String> notifications(String runId) {
    List<String> kinds = new ArrayList<>();
    gw.story(runId).path("notifications").forEach(n -> kinds.add(n.path("kind").asText()));
    return kinds;
  }

  private static CountingGithubMcpServer.Comment awaitComment(long issue, String containing) {
    return await("a comment containing " + containing + " on issue " + issue)
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () ->
                github.comments("acme", "widgets", issue).stream()
                    .filter(c -> c.body().contains(containing))
                    .toList(),
            found -> !found.isEmpty())
        .getFirst();
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void onlyTheNamedApproversSignedCommentOnTheRunsOwnIssueDecidesAndOnlyOnce() throws Exception {
    long issue = github.seedIssue("acme", "widgets", "Needs approval", "please").number();
    long otherIssue = github.seedIssue("acme", "widgets", "Another run", "also").number();
    String[] held = heldOnIssue(issue, "approve on github", "octo");
    String runId = held[0];
    String id = held[1];
    String[] other = heldOnIssue(otherIssue, "another run's call", "octo");

    // The ask: on the run's issue, through the outbox, saying what is asked and how to answer.
    CountingGithubMcpServer.Comment asked = awaitComment(issue, "/worka approve " + id);
    for (String part :
        List.of(
            "Approval needed",
            "`ernest`",
            "`github.create_issue`",
            "run `" + runId + "`",
            "`github:OctoCat`",
            "Expires ",
            "approve on github",
            "/worka deny " + id)) {
      assertTrue(asked.body().contains(part), part + " in: " + asked.body());
    }
    assertTrue(
        gw.story(runId).path("gates").toString().contains("approval request " + id),
        "a delivery.post gate for the approval comment");

    String approve =
        comment("created", "widgets", issue, "octocat", "User", "/worka approve " + id);
    // Unsigned and forged deliveries: 401, nothing decided.
    assertEquals(401, deliver(approve, null).status());
    assertEquals(401, deliver(approve, sign(approve, "not-the-webhook-secret")).status());
    // A comment edited into the command, a bot's, and one carrying Worka's own marker (its own
    // answer echoed back, whoever's token posted it): ignored.
    assertTrue(
        signed(comment("edited", "widgets", issue, "octocat", "User", "/worka approve " + id))
            .has("ignored"));
    assertTrue(
        signed(comment("created", "widgets", issue, "octocat", "Bot", "/worka approve " + id))
            .has("ignored"));
    assertTrue(
        signed(
                comment(
                    "created",
                    "widgets",
                    issue,
                    "octocat",
                    "User",
                    "/worka approve "
                        + id
                        + "\n<!-- worka-invocation:"
                        + UUID.randomUUID()
                        + " -->"))
            .has("ignored"));
    // The named approver, on another run's issue and on the same number in another repository:
    // refused, no gate, no answer.
    for (String[] place :
        List.of(
            new String[] {"widgets", Long.toString(otherIssue)},
            new String[] {"gadgets", Long.toString(issue)})) {
      JsonNode elsewhere =
          signed(
              comment(
                  "created",
                  place[0],
                  Long.parseLong(place[1]),
                  "octocat",
                  "User",
                  "/worka approve " + id));
      assertEquals("approval_not_asked_here", elsewhere.path("refused").asText(), place[0]);
    }
    // A stranger on the right issue: a deny gate naming them; nothing else, nothing posted.
    JsonNode stranger =
        signed(comment("created", "widgets", issue, "mallory", "User", "/worka approve " + id));
    assertEquals("not_an_approver", stranger.path("outcome").asText(), stranger.toString());
    assertEquals("pending", approval(id).path("status").asText());
    assertEquals(0, github.calls("create_issue"));
    assertEquals(List.of("deny github:mallory"), decisions(runId));
    assertEquals(List.of("ack", "approval"), notifications(runId));

    // The named approver (login case differs from the policy's): performed once, gate recorded.
    JsonNode decided = signed(approve);
    assertEquals("approved", decided.path("outcome").asText(), decided.toString());
    assertEquals("github:octocat", decided.path("decider").asText());
    JsonNode a = approval(id);
    assertEquals("approved", a.path("status").asText(), a.toString());
    assertEquals("github:octocat", a.path("decided_by").asText());
    assertEquals(1, github.effects("create_issue"));
    assertEquals(List.of("deny github:mallory", "allow github:octocat"), decisions(runId));

    // The same signed delivery replayed, and a deny after: already decided, no second effect.
    assertEquals("already_approved", signed(approve).path("outcome").asText());
    assertEquals(
        "already_approved",
        signed(comment("created", "widgets", issue, "octocat", "User", "/worka deny " + id))
            .path("outcome")
            .asText());
    assertEquals(1, github.effects("create_issue"));
    assertEquals(List.of("deny github:mallory", "allow github:octocat"), decisions(runId));
    assertEquals(List.of("ack", "approval", "approval_outcome"), notifications(runId));

    // The outcome, told once on the run's issue (not on the other run's).
    awaitComment(issue, "approved by `github:octocat`");
    assertEquals(
        0,
        github.comments("acme", "widgets", otherIssue).stream()
            .filter(c -> c.body().contains(id))
            .count());
    assertEquals("pending", approval(other[1]).path("status").asText());

    // The whole run: the step's next attempt makes the same call, answered with the approved
    // call's outcome (no second effect); the run succeeds and is answered on its issue.
    JsonNode story = gw.finish(runId);
    assertEquals("succeeded", story.path("status").asText(), story.path("error").toString());
    assertEquals(1, github.effects("create_issue"));
    assertEquals(1, github.calls("create_issue"), "the replayed call never reached GitHub");
    assertEquals(List.of("deny github:mallory", "allow github:octocat"), decisions(runId));
    awaitComment(issue, "Worka run `" + runId + "` succeeded");

    // A GitHub run's request decided elsewhere (the operator API) is told on its issue too.
    TestGateway.Answer byOperator =
        gw.operator("POST", "/v1/approvals/" + other[1] + "/deny", "{\"reason\": \"no\"}");
    assertEquals(200, byOperator.status(), byOperator.raw().body());
    assertTrue(
        awaitComment(otherIssue, "denied by `operator`").body().contains(other[1]),
        "the outcome names its request");
  }

  @Test
  void theNamedApproverDeniesWithAReasonAndTheStepFails() throws Exception {
    long issue = github.seedIssue("acme", "widgets", "Deny me", "please").number();
    // The held input is the worker's: shown inert, in a fence it cannot close.
    String[] held = heldOnIssue(issue, "deny ```` @acme/security", "denise");
    String runId = held[0];
    String id = held[1];
    String asked = awaitComment(issue, "/worka approve " + id).body();
    assertTrue(asked.contains("\n`````json\n"), "a fence longer than the input's: " + asked);
    assertTrue(asked.contains("@\u200bacme/security"), asked);
    assertFalse(asked.contains("@acme"), "no live mention: " + asked);
    JsonNode denied =
        signed(
            comment(
                "created",
                "widgets",
                issue,
                "OctoCat",
                "User",
                "/worka deny " + id + " not this repository\nmore text"));
    assertEquals("denied", denied.path("outcome").asText(), denied.toString());
    JsonNode a = approval(id);
    assertEquals("denied", a.path("status").asText());
    assertEquals("github:OctoCat", a.path("decided_by").asText());
    JsonNode gate =
        StreamSupport.stream(gw.story(runId).path("gates").spliterator(), false)
            .filter(g -> "approval.decide".equals(g.path("action").asText()))
            .findFirst()
            .orElseThrow();
    assertEquals("deny", gate.path("status").asText());
    assertTrue(gate.path("reason").asText().contains(": not this repository"), gate.toString());
    awaitComment(issue, "denied by `github:OctoCat`");
    JsonNode story = gw.finish(runId);
    assertEquals("failed", story.path("status").asText(), story.path("error").toString());
    assertEquals(0, story.path("skill_invocations").size(), "nothing was performed");
  }

  @Test
  void anExpiredRequestIsToldOnItsIssueAndALateCommandDecidesNothing() throws Exception {
    TestGateway.Answer quick =
        gw.operator("PUT", "/v1/policy", policy.replace("expires: 10m", "expires: 5s"));
    assertEquals(201, quick.status(), quick.raw().body());
    try {
      long issue = github.seedIssue("acme", "widgets", "Too late", "please").number();
      String[] held = heldOnIssue(issue, "expire on github", "tardy");
      String runId = held[0];
      String id = held[1];
      int effects = github.effects("create_issue");
      JsonNode story = gw.finish(runId);
      assertEquals("failed", story.path("status").asText());
      assertTrue(story.path("error").asText().contains("approval_expired"), story.toString());
      assertTrue(awaitComment(issue, "before a named approver decided").body().contains(id));
      JsonNode late =
          signed(comment("created", "widgets", issue, "octocat", "User", "/worka approve " + id));
      assertEquals("expired", late.path("outcome").asText(), late.toString());
      assertEquals("expired", approval(id).path("status").asText());
      assertEquals(List.of(), decisions(runId));
      assertEquals(effects, github.effects("create_issue"));
    } finally {
      TestGateway.Answer back = gw.operator("PUT", "/v1/policy", policy);
      assertEquals(201, back.status(), back.raw().body());
    }
  }
}
