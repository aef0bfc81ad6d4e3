package dev.worka.gateway.ingress.slack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.slack.api.app_backend.SlackSignature;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.protocol.Json;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Approve/Deny clicks on Slack's interactivity route of a real Gateway (HTTP mode, the Slack Web
 * API stand-in, the counting GitHub MCP server upstream, {@code live} side effects), as an attacker
 * would send them: unsigned, forged and replayed clicks, a stranger's, a look-alike from another
 * workspace, a value that is no approval id, a second click, a click after expiry — and the named
 * approver's, which performs the held call once and updates the message with who decided.
 */
class SlackApprovalClickTest {
  private static final String SECRET = "slack-signing-Secret-approval-77";
  private static final String BOT_TOKEN = "xoxb-approval-Secret-5151";
  private static final String GITHUB_TOKEN = "ghp-slack-approvals-Secret-4343";
  private static final List<String> PARKED = List.of("/bin/sh", "-c", "sleep 600");
  private static final String SKILL = "/v1/agent/skills/github.create_issue";
  private static final String APPROVER = "U0APPROVE";
  private static final String STRANGER = "U0STRANGER";
  private static final String CHANNEL = "C0APPROVALS";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  private CountingGithubMcpServer github;
  private SlackApiStandIn slack;
  private TestGateway gw;

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (github != null) {
      github.close();
    }
    if (slack != null) {
      slack.close();
    }
  }

  private void start(String approval) throws Exception {
    github = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of());
    slack = new SlackApiStandIn();
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
            Map.of(
                "GITHUB_MCP_URL",
                github.url(),
                "GITHUB_TOKEN",
                GITHUB_TOKEN,
                "SLACK_BOT_TOKEN",
                BOT_TOKEN,
                "SLACK_SIGNING_SECRET",
                SECRET,
                "SLACK_API_URL",
                slack.url()));
  }

  /** Submits a run whose worker (the test, with its step token) makes a call that is held. */
  private String held(String title) {
    return hold(gw.submit("open an issue in acme/widgets titled '" + title + "'"), title);
  }

  /** Run {@code runId}'s worker (the test, with its step token) makes a call that is held. */
  private String hold(String runId, String title) {
    AtomicInteger seen = new AtomicInteger();
    gw.followUntil(
        runId,
        e ->
            "file".equals(e.path("step_ref").asText())
                && "running".equals(e.path("to").asText())
                && seen.incrementAndGet() == 1);
    JsonNode step = stepOf(gw.story(runId));
    UUID stepId = UUID.fromString(step.path("step_id").asText());
    String token =
        new TokenIssuer(SigningKeys.loadOrCreate(home), "worka-gateway", InstantSource.system())
            .mint(
                "ernest",
                UUID.fromString(runId),
                stepId,
                1,
                Instant.now().plus(Duration.ofMinutes(10)))
            .token();
    ObjectNode body = Json.STRICT.createObjectNode();
    body.putObject("input").put("owner", "acme").put("repo", "widgets").put("title", title);
    TestGateway.Answer answer =
        gw.call(
            "POST",
            SKILL,
            body.toString(),
            Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json"));
    assertEquals(202, answer.status(), answer.raw().body());
    return answer.body().path("approval_id").asText();
  }

  private static JsonNode stepOf(JsonNode story) {
    return StreamSupport.stream(story.path("steps").spliterator(), false)
        .filter(s -> "file".equals(s.path("step_ref").asText()))
        .findFirst()
        .orElseThrow();
  }

  /** A {@code block_actions} payload as Slack sends it for a click on a Worka approval message. */
  private static String click(String action, String value, String user, String team, String ts) {
    ObjectNode p =
        Json.STRICT
            .createObjectNode()
            .put("type", "block_actions")
            .put("api_app_id", "A0TEST")
            .put("token", "unused-verification-token")
            .put("trigger_id", "1.2.3")
            .put("response_url", "https://hooks.slack.invalid/actions/1");
    p.putObject("team").put("id", team).put("domain", "worka-test");
    p.putObject("user").put("id", user).put("username", "someone").put("team_id", team);
    p.putObject("container")
        .put("type", "message")
        .put("message_ts", ts)
        .put("channel_id", CHANNEL)
        .put("is_ephemeral", false)
        .put("thread_ts", "1700000000.000100");
    p.putObject("channel").put("id", CHANNEL).put("name", "approvals");
    p.putObject("message")
        .put("type", "message")
        .put("ts", ts)
        .put("thread_ts", "1700000000.000100")
        .put("text", "approval");
    p.putArray("actions")
        .addObject()
        .put("action_id", action)
        .put("block_id", "worka_approval")
        .put("value", value)
        .put("type", "button")
        .put("action_ts", "1700000002.000100");
    return "payload=" + URLEncoder.encode(p.toString(), StandardCharsets.UTF_8);
  }

  private int send(String body, String secret, long timestamp) throws Exception {
    String ts = Long.toString(timestamp);
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gw.baseUrl + SlackIngress.INTERACTIVITY))
            .timeout(Duration.ofSeconds(3))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (secret != null) {
      b.header("X-Slack-Request-Timestamp", ts)
          .header("X-Slack-Signature", new SlackSignature.Generator(secret).generate(ts, body));
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private int signed(String body) throws Exception {
    return send(body, SECRET, Instant.now().getEpochSecond());
  }

  private JsonNode approval(String id) {
    return gw.operator("GET", "/v1/approvals/" + id, null).body();
  }

  /** The ephemeral answers the stand-in got for {@code user}, in order. */
  private List<String> toldTo(String user) {
    List<String> told = new ArrayList<>();
    slack.calls("chat.postEphemeral").stream()
        .filter(c -> user.equals(c.params().get("user")))
        .forEach(c -> told.add(c.params().get("text")));
    return told;
  }

  private static List<JsonNode> decisions(JsonNode story) {
    return StreamSupport.stream(story.path("gates").spliterator(), false)
        .filter(g -> "approval.decide".equals(g.path("action").asText()))
        .toList();
  }

  /** A signed Slack mention in {@link #CHANNEL}, thread {@code ts}, starts a run: its id. */
  private String slackRun(String eventId, String ts) throws Exception {
    String event =
        SlackIngressTest.mention(
            eventId,
            CHANNEL,
            "U0REQUEST",
            ts,
            null,
            "open an issue in acme/widgets titled 'from slack'");
    String ets = Long.toString(Instant.now().getEpochSecond());
    HttpResponse<String> accepted =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(gw.baseUrl + SlackIngress.EVENTS))
                .header("Content-Type", "application/json")
                .header("X-Slack-Request-Timestamp", ets)
                .header(
                    "X-Slack-Signature", new SlackSignature.Generator(SECRET).generate(ets, event))
                .POST(HttpRequest.BodyPublishers.ofString(event))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, accepted.statusCode(), accepted.body());
    SlackApiStandIn.Message ack =
        slack.awaitPost(
            m ->
                ts.equals(m.threadTs())
                    && m.text() != null
                    && m.text().contains("accepted this request"),
            WAIT);
    java.util.regex.Matcher run =
        java.util.regex.Pattern.compile("run `([0-9a-f-]{36})`").matcher(ack.text());
    assertTrue(run.find(), ack.text());
    return run.group(1);
  }

  /** The message asking the approvers of request {@code id} (through the outbox). */
  private SlackApiStandIn.Message asked(String id) {
    return slack.awaitPost(
        m -> m.metadata() != null && m.metadata().toString().contains("approval:" + id), WAIT);
  }

  /** The last {@code chat.update} of the message at {@code ts} (the approval message). */
  private SlackApiStandIn.Call lastUpdateOf(String ts) {
    return slack.calls("chat.update").stream()
        .filter(c -> ts.equals(c.params().get("ts")))
        .reduce((a, b) -> b)
        .orElseThrow();
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void onlyASignedClickOfANamedApproverInThisWorkspaceDecidesAndOnlyOnce() throws Exception {
    start("{approvers: [slack:" + APPROVER + ", operator], expires: 10m}");
    String id = held("approve in slack");
    String other = held("another run's call");
    String approve = click(ApprovalClicks.APPROVE, id, APPROVER, SlackApiStandIn.TEAM, "1.1");

    // Unsigned, forged (another secret), replayed (dated 10 minutes ago): 401, nothing decided.
    long now = Instant.now().getEpochSecond();
    assertEquals(401, send(approve, null, now));
    assertEquals(401, send(approve, "not-the-signing-secret", now));
    assertEquals(401, send(approve, SECRET, now - 600));
    // A signed body changed afterwards: the signature is over the raw body.
    String tampered = approve.replace(APPROVER, STRANGER);
    String ts = Long.toString(now);
    HttpResponse<String> swapped =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(gw.baseUrl + SlackIngress.INTERACTIVITY))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Slack-Request-Timestamp", ts)
                .header(
                    "X-Slack-Signature", new SlackSignature.Generator(SECRET).generate(ts, approve))
                .POST(HttpRequest.BodyPublishers.ofString(tampered))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(401, swapped.statusCode());

    // A value that is no approval id: nothing decided, the clicker is told.
    assertEquals(
        200,
        signed(click(ApprovalClicks.APPROVE, "1 or 1=1", APPROVER, SlackApiStandIn.TEAM, "1.1")));
    slack.awaitCalls("chat.postEphemeral", 1, WAIT);
    assertTrue(
        toldTo(APPROVER).getLast().contains("does not name a Worka approval"),
        toldTo(APPROVER).toString());

    // The approver's user id from another workspace (Slack Connect): not an approver here.
    assertEquals(200, signed(click(ApprovalClicks.APPROVE, id, APPROVER, "T0ELSEWHERE", "1.1")));
    slack.awaitCalls("chat.postEphemeral", 2, WAIT);
    assertTrue(
        toldTo(APPROVER).getLast().contains("Worka's own workspace"), toldTo(APPROVER).toString());

    // A stranger of this workspace: a deny gate naming them, nothing else; they alone are told.
    assertEquals(
        200, signed(click(ApprovalClicks.APPROVE, id, STRANGER, SlackApiStandIn.TEAM, "1.1")));
    slack.awaitCalls("chat.postEphemeral", 3, WAIT);
    assertTrue(
        toldTo(STRANGER).getLast().contains("not one of the approvers"),
        toldTo(STRANGER).toString());
    assertEquals("pending", approval(id).path("status").asText());
    assertEquals(0, github.calls("create_issue"));
    assertEquals(0, slack.calls("chat.update").size(), "no message was changed");

    // The named approver: approved, performed once, the message updated with who decided.
    assertEquals(200, signed(approve));
    slack.awaitCalls("chat.update", 1, WAIT);
    JsonNode decided = approval(id);
    assertEquals("approved", decided.path("status").asText(), decided.toString());
    assertEquals("slack:" + APPROVER, decided.path("decided_by").asText());
    assertEquals(1, github.effects("create_issue"));
    SlackApiStandIn.Call update = slack.calls("chat.update").getFirst();
    assertEquals(CHANNEL, update.params().get("channel"));
    assertEquals("1.1", update.params().get("ts"));
    assertTrue(
        update.params().get("text").contains("approved by `slack:" + APPROVER + "`"),
        update.params().toString());
    assertEquals("[]", update.params().get("blocks"), "the buttons are removed");

    // A second click (a deny now): already decided, nothing changes.
    assertEquals(
        200, signed(click(ApprovalClicks.DENY, id, APPROVER, SlackApiStandIn.TEAM, "1.1")));
    slack.awaitCalls("chat.postEphemeral", 4, WAIT);
    assertTrue(
        toldTo(APPROVER).getLast().contains("already approved by `slack:" + APPROVER + "`"),
        toldTo(APPROVER).toString());
    assertEquals("approved", approval(id).path("status").asText());
    assertEquals(1, github.effects("create_issue"));
    assertEquals(1, slack.calls("chat.update").size());

    // The other run's request, clicked on this message: it decides exactly the id it names, and
    // only because the clicker is that request's approver too; the first stays as decided.
    assertEquals(
        200, signed(click(ApprovalClicks.DENY, other, APPROVER, SlackApiStandIn.TEAM, "1.1")));
    slack.awaitCalls("chat.update", 2, WAIT);
    assertEquals("denied", approval(other).path("status").asText());
    assertEquals("slack:" + APPROVER, approval(other).path("decided_by").asText());
    assertEquals("approved", approval(id).path("status").asText());
    assertEquals(1, github.effects("create_issue"));

    List<JsonNode> gates = decisions(gw.story(approval(id).path("run_id").asText()));
    assertEquals(
        List.of("deny slack:" + STRANGER, "allow slack:" + APPROVER),
        gates.stream()
            .map(g -> g.path("status").asText() + " " + g.path("subject").asText())
            .toList(),
        gates.toString());
  }

  @Test
  void aSlackRunsHeldCallIsAskedInItsThreadAndTheApproversClickPerformsIt() throws Exception {
    start("{approvers: [slack:" + APPROVER + "], expires: 10m}");
    String title = "from slack <!channel> ```";
    String ts = "1700000100.000100";
    String runId = slackRun("Ev0APPROVAL", ts);
    String id = hold(runId, title);

    // The message asking the approvers: in the run's thread, through the outbox, with buttons.
    SlackApiStandIn.Message asked = asked(id);
    assertEquals(CHANNEL, asked.channel());
    assertEquals(ts, asked.threadTs());
    String blocks =
        slack.calls("chat.postMessage").stream()
            .filter(c -> c.params().getOrDefault("blocks", "").contains(id))
            .findFirst()
            .orElseThrow()
            .params()
            .get("blocks");
    JsonNode parsed = Json.parse(blocks);
    assertTrue(blocks.contains("\"action_id\":\"" + ApprovalClicks.APPROVE + "\""), blocks);
    assertTrue(blocks.contains("\"action_id\":\"" + ApprovalClicks.DENY + "\""), blocks);
    assertTrue(blocks.contains("\"value\":\"" + id + "\""), blocks);
    String code = parsed.get(1).path("text").path("text").asText();
    assertTrue(code.startsWith("```") && code.endsWith("```"), code);
    assertEquals(
        2, code.split("```", -1).length - 1, "the input cannot close the code block: " + code);
    assertTrue(code.contains("@\u200bchannel") && !code.contains("<!channel>"), code);
    assertTrue(
        gw.story(runId).path("gates").toString().contains("approval request " + id),
        "a delivery.post gate for the approval message");

    // The approver clicks Approve on that message: performed once, the message updated.
    assertEquals(
        200, signed(click(ApprovalClicks.APPROVE, id, APPROVER, SlackApiStandIn.TEAM, asked.ts())));
    slack.awaitCalls("chat.update", 1, WAIT);
    assertEquals(asked.ts(), slack.calls("chat.update").getFirst().params().get("ts"));
    assertEquals("approved", approval(id).path("status").asText());
    assertEquals(1, github.effects("create_issue"));
  }

  @Test
  void aClickAfterExpiryDecidesNothing() throws Exception {
    start("{approvers: [slack:" + APPROVER + "], expires: 5s}");
    String id = held("too late");
    String runId = approval(id).path("run_id").asText();
    JsonNode story = gw.finish(runId);
    assertEquals("failed", story.path("status").asText(), story.toString());
    assertEquals(
        200, signed(click(ApprovalClicks.APPROVE, id, APPROVER, SlackApiStandIn.TEAM, "2.2")));
    slack.awaitCalls("chat.update", 1, WAIT);
    assertTrue(slack.calls("chat.update").getFirst().params().get("text").contains("expired"));
    assertEquals("expired", approval(id).path("status").asText());
    assertEquals(0, github.calls("create_issue"));
    assertEquals(List.of(), decisions(gw.story(runId)));
  }

  @Test
  void aDecisionElsewhereUpdatesTheSlackMessageAndAStaleClickChangesNothing() throws Exception {
    start("{approvers: [slack:" + APPROVER + ", operator], expires: 10m}");
    String runId = slackRun("Ev0ELSEWHERE", "1700000200.000100");
    String id = hold(runId, "approved by the operator");
    SlackApiStandIn.Message asked = asked(id);
    assertEquals(0, slack.calls("chat.update").size());

    // The operator approves through the API: performed once; the outbox updates the message.
    assertEquals(200, gw.operator("POST", "/v1/approvals/" + id + "/approve", null).status());
    slack.awaitCalls("chat.update", 1, WAIT);
    SlackApiStandIn.Call update = lastUpdateOf(asked.ts());
    assertEquals(CHANNEL, update.params().get("channel"));
    String text = update.params().get("text");
    assertTrue(
        text.startsWith("Approved by `operator` with the operator token (API, CLI or console) at ")
            && text.contains("`github.create_issue`"),
        text);
    String blocks = update.params().get("blocks");
    assertTrue(
        !blocks.contains("actions") && !blocks.contains(ApprovalClicks.APPROVE),
        "the buttons are removed: " + blocks);
    assertEquals(1, github.effects("create_issue"));
    assertTrue(
        gw.story(runId).path("gates").toString().contains("outcome of approval request " + id),
        "a delivery.post gate for the update");

    // A click on the stale message: nothing decided or performed again; the clicker alone is told.
    assertEquals(
        200, signed(click(ApprovalClicks.APPROVE, id, APPROVER, SlackApiStandIn.TEAM, asked.ts())));
    slack.awaitCalls("chat.postEphemeral", 1, WAIT);
    assertTrue(
        toldTo(APPROVER).getLast().contains("already approved by `operator`"),
        toldTo(APPROVER).toString());
    assertEquals("approved", approval(id).path("status").asText());
    assertEquals("operator", approval(id).path("decided_by").asText());
    assertEquals(1, github.effects("create_issue"));
    assertEquals(1, slack.calls("chat.update").size(), "a stale click changes no message");
    assertEquals(
        List.of("allow operator"),
        decisions(gw.story(runId)).stream()
            .map(g -> g.path("status").asText() + " " + g.path("subject").asText())
            .toList());
  }

  @Test
  void anExpiredRequestsSlackMessageSaysSoWithoutButtons() throws Exception {
    start("{approvers: [slack:" + APPROVER + "], expires: 5s}");
    String runId = slackRun("Ev0EXPIRES", "1700000300.000100");
    String id = hold(runId, "nobody decides");
    SlackApiStandIn.Message asked = asked(id);
    JsonNode story = gw.finish(runId);
    assertEquals("failed", story.path("status").asText(), story.toString());
    slack.awaitCalls("chat.update", 1, WAIT);
    SlackApiStandIn.Call update = lastUpdateOf(asked.ts());
    String text = update.params().get("text");
    assertTrue(text.startsWith("Expired at ") && text.contains(": none of the approvers"), text);
    assertEquals(
        Instant.parse(approval(id).path("expires_at").asText()),
        Instant.parse(text.substring("Expired at ".length(), text.indexOf(": none"))),
        text);
    assertTrue(!update.params().get("blocks").contains("actions"), update.params().toString());
    assertEquals("expired", approval(id).path("status").asText());
    assertEquals(0, github.calls("create_issue"));
  }
}
