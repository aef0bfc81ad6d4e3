package dev.worka.gateway.hostile;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.slack.api.app_backend.SlackSignature;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.cli.WorkaCli;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.StreamSupport;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile-requester family: strangers who try to start runs that would use the Gateway's
 * credentials, through the real entry points — signed GitHub deliveries, signed Slack requests
 * (HTTP mode, the Web API stand-in answering Bolt), the operator API and the CLI. Strangers by
 * GitHub author association and by repository; by Slack workspace (another one, a Slack Connect
 * guest in a shared channel, an event that does not say), guests of the workspace itself, by
 * channel and by user; floods past the quotas, per hour and at once, including concurrent requests
 * racing for the last place; a captured GitHub delivery replayed with a new delivery id. Each
 * refusal is checked for its answer, its {@code run.create} deny gate (subject, reason, policy, no
 * run) as the operator sees it ({@code GET /v1/gates}), and that no run exists and nothing was
 * posted where the stranger could see it.
 */
class HostileRequesterSuiteTest {
  private static final String SLACK_SECRET = "slack-signing-Secret-hostile-1b2c";
  private static final String BOT_TOKEN = "xoxb-hostile-Secret-4242";
  private static final String GITHUB_SECRET = "webhook-secret-hostile-requesters-0123";
  private static final String GITHUB_TOKEN = "ghp_hostilerequestertoken0123456789abcd";
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  // ---------------------------------------------------------------------------------------------
  // Policies

  /**
   * {@code policy} (the built-in one for tests) with its {@code ingress:} section replaced by
   * {@code yaml}.
   */
  static String withIngress(String policy, String yaml) {
    int from = policy.indexOf("\ningress:\n");
    int to = policy.indexOf("\n# --- agents");
    if (from < 0 || to < from) {
      throw new IllegalArgumentException("the policy has no ingress section before its agents");
    }
    return policy.substring(0, from)
        + "\ningress:\n"
        + yaml.stripTrailing().indent(2)
        + policy.substring(to);
  }

  // ---------------------------------------------------------------------------------------------
  // GitHub, as it delivers

  static String sign(String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(GITHUB_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  /** An {@code issue_comment} delivery; {@code association} null leaves the field out. */
  static String comment(
      long id, String login, String association, String repository, long issue, String text) {
    String[] ownerRepo = repository.split("/");
    ObjectNode body = Json.STRICT.createObjectNode().put("action", "created");
    body.putObject("issue").put("number", issue).put("title", "An issue");
    ObjectNode c =
        body.putObject("comment")
            .put("id", id)
            .put("body", text)
            .put(
                "html_url",
                "https://github.test/" + repository + "/issues/" + issue + "#issuecomment-" + id);
    if (association != null) {
      c.put("author_association", association);
    }
    c.putObject("user").put("login", login).put("type", "User");
    ObjectNode repo =
        body.putObject("repository").put("name", ownerRepo[1]).put("full_name", repository);
    repo.putObject("owner").put("login", ownerRepo[0]);
    body.putObject("sender").put("login", login).put("type", "User");
    return body.toString();
  }

  static TestGateway.Answer deliver(TestGateway gw, String delivery, String body) throws Exception {
    return gw.call(
        "POST",
        "/github/webhook",
        body,
        Map.of(
            "Content-Type",
            "application/json",
            "X-GitHub-Event",
            "issue_comment",
            "X-GitHub-Delivery",
            delivery,
            "X-Hub-Signature-256",
            sign(body)));
  }

  // ---------------------------------------------------------------------------------------------
  // Slack, as it sends

  record Sent(int status, String body) {}

  static Sent slack(
      TestGateway gw,
      String path,
      String body,
      String contentType,
      long epochSecond,
      Map<String, String> extra)
      throws Exception {
    String ts = Long.toString(epochSecond);
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gw.baseUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", contentType)
            .header("X-Slack-Request-Timestamp", ts)
            .header(
                "X-Slack-Signature", new SlackSignature.Generator(SLACK_SECRET).generate(ts, body))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    extra.forEach(b::header);
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Sent(r.statusCode(), r.body());
  }

  static Sent event(TestGateway gw, String body, long epochSecond, Map<String, String> extra)
      throws Exception {
    return slack(gw, "/slack/events", body, "application/json", epochSecond, extra);
  }

  /**
   * An Events API callback as Slack wraps it: {@code teamId} the payload's team_id (in a shared
   * channel: the channel's host workspace), {@code authorizations} this app's installation (always
   * the stand-in's workspace), {@code is_ext_shared_channel}.
   */
  static String callback(String eventId, String teamId, boolean extShared, ObjectNode event) {
    ObjectNode p =
        Json.STRICT
            .createObjectNode()
            .put("token", "unused")
            .put("team_id", teamId)
            .put("api_app_id", "A0TEST")
            .put("type", "event_callback")
            .put("event_id", eventId)
            .put("event_time", 1_700_000_000)
            .put("is_ext_shared_channel", extShared);
    p.set("event", event);
    p.putArray("authorizations")
        .addObject()
        .put("team_id", SlackApiStandIn.TEAM)
        .put("user_id", SlackApiStandIn.BOT_USER)
        .put("is_bot", true)
        .put("is_enterprise_install", false);
    return p.toString();
  }

  /** An app_mention; {@code userTeam} null leaves out user_team, team and source_team. */
  static ObjectNode mention(
      String channel, String user, String userTeam, String ts, String threadTs, String text) {
    ObjectNode e =
        Json.STRICT
            .createObjectNode()
            .put("type", "app_mention")
            .put("user", user)
            .put("text", "<@" + SlackApiStandIn.BOT_USER + "> " + text)
            .put("ts", ts)
            .put("channel", channel)
            .put("event_ts", ts);
    if (userTeam != null) {
      e.put("team", userTeam).put("user_team", userTeam).put("source_team", userTeam);
    }
    if (threadTs != null) {
      e.put("thread_ts", threadTs);
    }
    return e;
  }

  static ObjectNode directMessage(
      String channel, String user, String userTeam, String ts, String text) {
    ObjectNode e =
        Json.STRICT
            .createObjectNode()
            .put("type", "message")
            .put("channel_type", "im")
            .put("channel", channel)
            .put("user", user)
            .put("text", text)
            .put("ts", ts)
            .put("event_ts", ts);
    if (userTeam != null) {
      e.put("team", userTeam);
    }
    return e;
  }

  static String form(Map<String, String> fields) {
    List<String> pairs = new ArrayList<>();
    fields.forEach(
        (k, v) ->
            pairs.add(
                URLEncoder.encode(k, StandardCharsets.UTF_8)
                    + "="
                    + URLEncoder.encode(v, StandardCharsets.UTF_8)));
    return String.join("&", pairs);
  }

  // ---------------------------------------------------------------------------------------------
  // What the operator sees, and the database

  /** {@code GET /v1/gates?action=run.create}, newest first, as the operator reads them. */
  static List<JsonNode> refusals(TestGateway gw) {
    TestGateway.Answer a = gw.operator("GET", "/v1/gates?action=run.create&limit=1000", null);
    assertEquals(200, a.status(), a.raw().body());
    return StreamSupport.stream(a.body().path("gates").spliterator(), false).toList();
  }

  static JsonNode refusal(TestGateway gw, String gateId) {
    return refusals(gw).stream()
        .filter(g -> g.path("gate_id").asText().equals(gateId))
        .findFirst()
        .orElseThrow(
            () -> new AssertionError("no run.create gate " + gateId + " in " + refusals(gw)));
  }

  /**
   * Checks a refusal's gate: a run.create deny of {@code subject}, no run, the active policy, the
   * reason.
   */
  static void assertRefusal(TestGateway gw, String gateId, String subject, String reasonPart) {
    JsonNode g = refusal(gw, gateId);
    assertEquals("run.create", g.path("action").asText());
    assertEquals("deny", g.path("status").asText());
    assertEquals(subject, g.path("subject").asText(), g.toString());
    assertTrue(g.path("run_id").isNull(), "a refusal has no run: " + g);
    assertTrue(g.path("reason").asText().contains(reasonPart), g.path("reason").asText());
    assertEquals(
        gw.operator("GET", "/v1/policy", null).body().path("id").asText(),
        g.path("policy_manifest_id").asText(),
        "the gate names the manifest that decided");
  }

  static long count(String sql, Object... params) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void githubStrangersByAssociationAndRepositoryStartNothingAndHearNothingAndReplaysAreOneRun()
      throws Exception {
    String policy =
        withIngress(
            TestGateway.builtinPolicyForTests(),
            """
        github:
          author_associations: [OWNER, MEMBER, COLLABORATOR]
          repositories: [acme/widgets]
        """);
    try (CountingGithubMcpServer github = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of());
        TestGateway gw =
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
                    "GITHUB_WEBHOOK_SECRET",
                    GITHUB_SECRET))) {
      long strangers =
          github.seedIssue("acme", "widgets", "Open to everyone", "anyone may comment").number();
      long members = github.seedIssue("acme", "widgets", "Flaky login", "It fails on CI").number();
      String ask = "@worka open an issue in acme/widgets titled 'Login test is flaky'";

      record Stranger(long id, String login, String association, String repository, String why) {}
      List<Stranger> family =
          List.of(
              new Stranger(
                  101, "mallory", "NONE", "acme/widgets", "github:mallory is NONE on acme/widgets"),
              new Stranger(
                  102, "drive-by", "CONTRIBUTOR", "acme/widgets", "is CONTRIBUTOR on acme/widgets"),
              new Stranger(
                  103,
                  "newbie",
                  "FIRST_TIME_CONTRIBUTOR",
                  "acme/widgets",
                  "is FIRST_TIME_CONTRIBUTOR"),
              new Stranger(104, "ghost", null, "acme/widgets", "github:ghost is NONE"),
              new Stranger(
                  105,
                  "octo",
                  "MEMBER",
                  "evil/widgets",
                  "commented on evil/widgets, which is not in ingress.github.repositories"));
      Map<Long, String> gates = new LinkedHashMap<>();
      for (Stranger s : family) {
        String body = comment(s.id(), s.login(), s.association(), s.repository(), strangers, ask);
        TestGateway.Answer a = deliver(gw, UUID.randomUUID().toString(), body);
        assertEquals(202, a.status(), a.raw().body());
        assertEquals("ingress_denied", a.body().path("refused").asText(), a.raw().body());
        assertFalse(a.body().has("run_id"), a.raw().body());
        assertFalse(a.body().path("replayed").asBoolean());
        assertRefusal(gw, a.body().path("gate_id").asText(), "github:" + s.login(), s.why());
        gates.put(s.id(), a.body().path("gate_id").asText());
      }

      // A captured stranger's delivery, replayed with a new X-GitHub-Delivery: the same refusal, no
      // new gate.
      String mallory = comment(101, "mallory", "NONE", "acme/widgets", strangers, ask);
      TestGateway.Answer replayed = deliver(gw, UUID.randomUUID().toString(), mallory);
      assertEquals(202, replayed.status());
      assertEquals(gates.get(101L), replayed.body().path("gate_id").asText());
      assertTrue(replayed.body().path("replayed").asBoolean());

      // A member's comment runs once, however often and under whatever delivery id it arrives.
      String member = comment(200, "octo", "MEMBER", "acme/widgets", members, ask);
      TestGateway.Answer first = deliver(gw, "delivery-1", member);
      assertEquals(202, first.status(), first.raw().body());
      String runId = first.body().path("run_id").asText();
      for (String delivery : List.of("delivery-1", "captured-and-replayed-" + UUID.randomUUID())) {
        TestGateway.Answer again = deliver(gw, delivery, member);
        assertEquals(
            runId,
            again.body().path("run_id").asText(),
            "delivery " + delivery + ": " + again.raw().body());
        assertTrue(again.body().path("replayed").asBoolean());
      }
      JsonNode story = gw.finish(runId);
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      awaitComments(github, members, 2); // the notification loop ran: acknowledgement and result

      assertEquals(1, count("select count(*) from runs"), "the strangers started nothing");
      assertEquals(
          List.of(), github.comments("acme", "widgets", strangers), "nothing public for strangers");
      assertEquals(2, github.effects("add_issue_comment"), "only the member's run was answered");
      assertEquals(1, github.effects("create_issue"));
      assertEquals(
          2,
          count("select count(*) from run_notifications"),
          "nothing owed to anyone but the member");
      assertEquals(
          family.size(), refusals(gw).size(), "one gate per refused comment, none for the replay");
      assertEquals(family.size(), count("select count(*) from run_refusals"));
      assertEquals(
          0,
          count("select count(*) from gates where action = 'run.create' and run_id is not null"));
    }
  }

  @Test
  void slackStrangersByWorkspaceChannelAndUserGetOnePrivateAnswerAndNoRun() throws Exception {
    try (SlackApiStandIn slack = new SlackApiStandIn();
        TestGateway gw =
            TestGateway.startWithEnvironment(
                home,
                db.url(),
                TestGateway.builtinPolicyForTests(),
                "dry-run",
                Map.of(
                    "SLACK_BOT_TOKEN",
                    BOT_TOKEN,
                    "SLACK_SIGNING_SECRET",
                    SLACK_SECRET,
                    "SLACK_API_URL",
                    slack.url()))) {
      long now = Instant.now().getEpochSecond();
      String ask = "summarize this thread and open an issue in acme/widgets";

      // A Slack Connect guest of another company in a channel shared with it: the payload's team_id
      // and authorizations are this workspace's; only user_team says where the user is from.
      String guest =
          callback(
              "Ev0GUEST",
              SlackApiStandIn.TEAM,
              true,
              mention("C0SHARED", "U0GUEST", "T0PARTNER", "1700001000.000100", null, ask));
      assertEquals(200, event(gw, guest, now, Map.of()).status());
      // Slack retries it (no acknowledgement in time, say): the same refusal, nothing new.
      assertEquals(
          200,
          event(
                  gw,
                  guest,
                  now,
                  Map.of("X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout"))
              .status());
      // A shared-channel event that does not say which workspace the user is from.
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0NOTEAM",
                      SlackApiStandIn.TEAM,
                      true,
                      mention("C0SHARED", "U0MASKED", null, "1700001000.000200", null, ask)),
                  now,
                  Map.of())
              .status());
      // Another workspace altogether (a request signed for it, not shared).
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0OTHER",
                      "T0OTHER",
                      false,
                      mention("C0ELSEWHERE", "U0STRANGER", null, "1700001000.000300", null, ask)),
                  now,
                  Map.of())
              .status());
      // A guest of this very workspace (its team id is the workspace's): single-channel, then
      // multi-channel.
      slack.guest("U0CONTRACTOR", true);
      slack.guest("U0VISITOR", false);
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0CONTRACTOR",
                      SlackApiStandIn.TEAM,
                      false,
                      mention(
                          "C0DEV",
                          "U0CONTRACTOR",
                          SlackApiStandIn.TEAM,
                          "1700001000.000400",
                          null,
                          ask)),
                  now,
                  Map.of())
              .status());
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0VISITOR",
                      SlackApiStandIn.TEAM,
                      false,
                      mention(
                          "C0DEV",
                          "U0VISITOR",
                          SlackApiStandIn.TEAM,
                          "1700001000.000500",
                          null,
                          ask)),
                  now,
                  Map.of())
              .status());
      // Slack cannot say whether a member is a guest (the app lacks users:read): refused, not
      // guessed.
      slack.fail("users.info", SlackApiStandIn.Failure.error("missing_scope"), 1);
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0NOSCOPE",
                      SlackApiStandIn.TEAM,
                      false,
                      mention(
                          "C0DEV",
                          "U0NOSCOPE",
                          SlackApiStandIn.TEAM,
                          "1700001000.000600",
                          null,
                          ask)),
                  now,
                  Map.of())
              .status());
      // A slash command from another workspace is answered in the command's own reply.
      Map<String, String> command = new LinkedHashMap<>();
      command.put("token", "unused");
      command.put("team_id", "T0OTHER");
      command.put("channel_id", "C0ELSEWHERE");
      command.put("user_id", "U0STRANGER");
      command.put("command", "/worka");
      command.put("text", ask);
      command.put("response_url", "https://hooks.slack.test/commands/1/2/3");
      command.put("trigger_id", "1700001000.9.xyz");
      Sent commanded =
          slack(
              gw,
              "/slack/commands",
              form(command),
              "application/x-www-form-urlencoded",
              now,
              Map.of());
      assertEquals(200, commanded.status(), commanded.body());
      JsonNode reply = Json.parse(commanded.body());
      assertEquals("ephemeral", reply.path("response_type").asText());
      assertTrue(
          reply.path("text").asText().startsWith("Worka does not take requests from you here"),
          commanded.body());

      List<JsonNode> first = refusals(gw);
      assertEquals(7, first.size(), first.toString());
      // newest first: command, no scope, visitor, contractor, other workspace, no team, Slack
      // Connect guest
      assertRefusal(
          gw,
          first.get(6).path("gate_id").asText(),
          "slack:U0GUEST",
          "belongs to workspace T0PARTNER, not one that may ask: ingress.slack.teams is not set, so only this bot's"
              + " own workspace T0TEST may ask");
      assertRefusal(
          gw,
          first.get(5).path("gate_id").asText(),
          "slack:U0MASKED",
          "does not say which workspace");
      assertRefusal(
          gw,
          first.get(4).path("gate_id").asText(),
          "slack:U0STRANGER",
          "belongs to workspace T0OTHER");
      assertRefusal(
          gw,
          first.get(3).path("gate_id").asText(),
          "slack:U0CONTRACTOR",
          "slack:U0CONTRACTOR is a guest of workspace T0TEST; a guest may ask only when listed in ingress.slack.users");
      assertRefusal(
          gw,
          first.get(2).path("gate_id").asText(),
          "slack:U0VISITOR",
          "is a guest of workspace T0TEST");
      assertRefusal(
          gw,
          first.get(1).path("gate_id").asText(),
          "slack:U0NOSCOPE",
          "could not tell whether slack:U0NOSCOPE is a guest");
      assertRefusal(
          gw,
          first.get(0).path("gate_id").asText(),
          "slack:U0STRANGER",
          "belongs to workspace T0OTHER");

      // The operator lets the partner's workspace in, but only two channels and two people.
      String widened =
          withIngress(
              TestGateway.builtinPolicyForTests(),
              """
          slack:
            teams: [T0TEST, T0PARTNER]
            channels: [C0DEV, C0SHARED]
            users: [U0ALICE, U0GUEST]
          """);
      TestGateway.Answer put =
          gw.call(
              "PUT",
              "/v1/policy",
              widened,
              Map.of(
                  "Authorization",
                  "Bearer " + TestGateway.OPERATOR_TOKEN,
                  "Content-Type",
                  "application/yaml"));
      assertEquals(201, put.status(), put.raw().body());
      assertTrue(
          put.body()
              .path("compiled")
              .path("ingress")
              .path("slack")
              .path("teams")
              .toString()
              .contains("T0PARTNER"));

      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0GUEST2",
                      SlackApiStandIn.TEAM,
                      true,
                      mention("C0SHARED", "U0GUEST", "T0PARTNER", "1700001100.000100", null, ask)),
                  now,
                  Map.of())
              .status());
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0CHANNEL",
                      SlackApiStandIn.TEAM,
                      false,
                      mention(
                          "C0RANDOM",
                          "U0ALICE",
                          SlackApiStandIn.TEAM,
                          "1700001100.000200",
                          null,
                          ask)),
                  now,
                  Map.of())
              .status());
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0USER",
                      SlackApiStandIn.TEAM,
                      false,
                      mention(
                          "C0DEV",
                          "U0MALLORY",
                          SlackApiStandIn.TEAM,
                          "1700001100.000300",
                          "1700001100.000010",
                          ask)),
                  now,
                  Map.of())
              .status());
      assertEquals(
          200,
          event(
                  gw,
                  callback(
                      "Ev0DM",
                      SlackApiStandIn.TEAM,
                      false,
                      directMessage(
                          "D0ALICE", "U0ALICE", SlackApiStandIn.TEAM, "1700001100.000400", ask)),
                  now,
                  Map.of())
              .status());

      List<JsonNode> all = refusals(gw);
      assertEquals(10, all.size(), all.toString());
      assertRefusal(
          gw,
          all.get(2).path("gate_id").asText(),
          "slack:U0ALICE",
          "asked in C0RANDOM, which is not in ingress.slack.channels [C0DEV, C0SHARED]");
      assertRefusal(
          gw,
          all.get(1).path("gate_id").asText(),
          "slack:U0MALLORY",
          "is not in ingress.slack.users [U0ALICE, U0GUEST]");
      assertRefusal(
          gw,
          all.get(0).path("gate_id").asText(),
          "slack:U0ALICE",
          "asked in D0ALICE, which is not in ingress.slack.channels");

      // The one allowed request runs and is answered in its thread, with the loops running.
      assertEquals(1, count("select count(*) from runs"));
      String runId;
      try (Connection c = db.dataSource().getConnection();
          PreparedStatement ps =
              c.prepareStatement("select id, requester, slack_channel from runs");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        runId = rs.getString(1);
        assertEquals("U0GUEST", rs.getString(2));
        assertEquals("C0SHARED", rs.getString(3));
      }
      slack.awaitPost(p -> p.text().contains(runId), WAIT);
      gw.finish(runId);
      slack.awaitPost(
          p ->
              p.text().contains("succeeded")
                  || p.text().contains("refused")
                  || p.text().contains("failed"),
          WAIT);

      // Each refused event got one answer only its requester sees; the command's was its reply.
      slack.awaitCalls("chat.postEphemeral", 9, WAIT);
      List<SlackApiStandIn.Call> privately = slack.calls("chat.postEphemeral");
      assertEquals(9, privately.size(), privately.toString());
      assertEquals(
          Set.of(
              "U0GUEST@C0SHARED",
              "U0MASKED@C0SHARED",
              "U0STRANGER@C0ELSEWHERE",
              "U0CONTRACTOR@C0DEV",
              "U0VISITOR@C0DEV",
              "U0NOSCOPE@C0DEV",
              "U0ALICE@C0RANDOM",
              "U0MALLORY@C0DEV",
              "U0ALICE@D0ALICE"),
          Set.copyOf(
              privately.stream()
                  .map(c -> c.params().get("user") + "@" + c.params().get("channel"))
                  .toList()));
      for (SlackApiStandIn.Call c : privately) {
        String text = c.params().get("text");
        assertTrue(text.startsWith("Worka does not take requests from you here"), text);
        for (String internal : List.of("ingress", "T0PARTNER", "T0TEST", "gate", "policy", "U0")) {
          assertFalse(text.contains(internal), "the answer tells no internals: " + text);
        }
      }
      assertEquals(
          "1700001100.000010",
          privately.stream()
              .filter(c -> c.params().get("user").equals("U0MALLORY"))
              .findFirst()
              .orElseThrow()
              .params()
              .get("thread_ts"),
          "a refusal in a thread is answered in that thread");
      for (SlackApiStandIn.Call c : slack.calls("chat.postMessage")) {
        assertEquals(
            "C0SHARED",
            c.params().get("channel"),
            "nothing public anywhere a stranger asked: " + c);
      }
      assertEquals(10, count("select count(*) from run_refusals"));
      // Telling a refused requester so is a post of Worka's own: each refusal has its delivery.post
      // gate (no run), committed with the refusal, before the answer, naming the refusal it
      // answers.
      assertEquals(
          10,
          count(
              "select count(*) from gates where action = 'delivery.post' and run_id is null"
                  + " and status = 'allow' and subject = 'worka'"));
      assertEquals(
          10,
          count(
              "select count(*) from gates d join gates g on g.action = 'run.create'"
                  + " and d.reason like 'the refusal (gate ' || g.id || ') to ' || g.subject || ' only, in slack channel %'"
                  + " and g.seq < d.seq where d.action = 'delivery.post' and d.run_id is null"));
    }
  }

  @Test
  void quotasPerHourAndAtOnceThroughTheOperatorApiAndTheCli() throws Exception {
    SettableClock clock = new SettableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    String policy =
        withIngress(
            TestGateway.builtinPolicyForTests(),
            """
        quotas:
          runs_per_requester_per_hour: 3
          concurrent_runs_per_requester: 2
        """);
    try (TestGateway gw = TestGateway.startWithoutLoops(home, db.url(), policy, clock)) {
      String alice1 = created(post(gw, "api", "alice", "key-alice-1"));
      String alice2 = created(post(gw, "api", "alice", null));
      TestGateway.Answer atOnce = post(gw, "api", "alice", null);
      assertEquals(429, atOnce.status(), atOnce.raw().body());
      assertEquals("quota_exceeded", atOnce.body().path("error").asText());
      assertTrue(
          atOnce.raw().headers().firstValue("Retry-After").isEmpty(),
          "a place frees when a run ends");
      assertTrue(
          atOnce
              .body()
              .path("message")
              .asText()
              .contains("try again when one of its runs has ended"),
          atOnce.raw().body());
      assertRefusal(
          gw,
          atOnce.body().path("gate_id").asText(),
          "api:alice",
          "api:alice has 2 runs that have not ended; ingress.quotas.concurrent_runs_per_requester is 2");

      TestGateway.Answer replay = post(gw, "api", "alice", "key-alice-1");
      assertEquals(
          202,
          replay.status(),
          "a replay of an accepted request is its run, not a new one: " + replay.raw().body());
      assertEquals(alice1, replay.body().path("run_id").asText());
      assertTrue(replay.body().path("replayed").asBoolean());
      created(post(gw, "api", "bob", null)); // per requester
      created(post(gw, "cli", "alice", null)); // per source
      for (int i = 0; i < 5; i++) {
        created(post(gw, "api", null, null)); // the operator itself is not counted
      }

      assertEquals(200, gw.operator("POST", "/v1/runs/" + alice1 + "/cancel", "{}").status());
      clock.advance(Duration.ofMinutes(10));
      String alice3 = created(post(gw, "api", "alice", null));
      assertEquals(200, gw.operator("POST", "/v1/runs/" + alice2 + "/cancel", "{}").status());
      TestGateway.Answer perHour = post(gw, "api", "alice", null);
      assertEquals(429, perHour.status(), perHour.raw().body());
      assertEquals(
          "3000",
          perHour.raw().headers().firstValue("Retry-After").orElse(null),
          "the first of the hour's runs leaves the window in 50 minutes");
      assertTrue(
          perHour.body().path("message").asText().contains("try again in 3000 s"),
          perHour.raw().body());
      assertRefusal(
          gw,
          perHour.body().path("gate_id").asText(),
          "api:alice",
          "api:alice started 3 runs in the last hour; ingress.quotas.runs_per_requester_per_hour is 3");
      clock.advance(Duration.ofMinutes(49));
      TestGateway.Answer stillOver = post(gw, "api", "alice", null);
      assertEquals("60", stillOver.raw().headers().firstValue("Retry-After").orElse(null));
      clock.advance(Duration.ofSeconds(61));
      String alice4 = created(post(gw, "api", "alice", null));
      assertFalse(alice4.equals(alice3));
      assertEquals(
          4,
          count("select count(*) from runs where source = 'api' and requester = 'alice'"),
          "no refused request became a run");

      // The CLI (its requester is $USER) says what happened and where the refusal is recorded.
      Map<String, String> env =
          Map.of(
              "WORKA_URL",
              gw.baseUrl,
              "WORKA_OPERATOR_TOKEN",
              TestGateway.OPERATOR_TOKEN,
              "USER",
              "dave");
      assertEquals(0, cli(env, "run", "--detach", "first").status());
      assertEquals(0, cli(env, "run", "--detach", "second").status());
      Cli refused = cli(env, "run", "--detach", "third");
      assertEquals(2, refused.status(), refused.err());
      assertTrue(refused.err().contains("quota_exceeded"), refused.err());
      assertTrue(
          refused.err().contains("no run was started; the refusal is recorded as gate"),
          refused.err());
      assertTrue(refused.err().contains("cli:dave has 2 runs that have not ended"), refused.err());
      Cli listed = cli(env, "gates", "--subject", "cli:dave");
      assertEquals(0, listed.status(), listed.err());
      assertTrue(
          listed.out().contains("deny")
              && listed.out().contains("run.create")
              && listed.out().contains("cli:dave"),
          listed.out());

      assertEquals(4, refusals(gw).size(), refusals(gw).toString());
      assertEquals(
          0,
          count("select count(*) from run_refusals"),
          "an API refusal is not remembered: retry it later");
      TestGateway.Answer page =
          gw.operator("GET", "/v1/gates?action=run.create&subject=api:alice&limit=2", null);
      assertEquals(2, page.body().path("gates").size(), page.raw().body());
      TestGateway.Answer next =
          gw.operator(
              "GET",
              "/v1/gates?action=run.create&subject=api:alice&limit=2&before="
                  + page.body().path("next_before").asText(),
              null);
      assertEquals(1, next.body().path("gates").size(), next.raw().body());
      assertEquals(
          atOnce.body().path("gate_id").asText(),
          next.body().path("gates").get(0).path("gate_id").asText());
      assertEquals(422, gw.operator("GET", "/v1/gates?status=maybe", null).status());
      assertEquals(401, gw.call("GET", "/v1/gates", null, Map.of()).status());
    }
  }

  @Test
  void concurrentRequestsOfOneRequesterCannotRacePastTheQuota() throws Exception {
    SettableClock clock = new SettableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    String policy =
        withIngress(
            TestGateway.builtinPolicyForTests(),
            """
        quotas:
          runs_per_requester_per_hour: 100
          concurrent_runs_per_requester: 3
        """);
    try (SlackApiStandIn slack = new SlackApiStandIn();
        TestGateway gw =
            TestGateway.startWithEnvironmentWithoutLoops(
                home,
                db.url(),
                policy,
                Map.of(
                    "SLACK_BOT_TOKEN",
                    BOT_TOKEN,
                    "SLACK_SIGNING_SECRET",
                    SLACK_SECRET,
                    "SLACK_API_URL",
                    slack.url(),
                    "GITHUB_WEBHOOK_SECRET",
                    GITHUB_SECRET),
                clock)) {
      // The operator API: 16 requests of one requester at the same moment.
      List<TestGateway.Answer> api = all(16, i -> post(gw, "api", "racer", null));
      assertEquals(3, api.stream().filter(a -> a.status() == 202).count(), statuses(api));
      assertEquals(13, api.stream().filter(a -> a.status() == 429).count(), statuses(api));
      assertEquals(3, count("select count(*) from runs where requester = 'racer'"));
      assertEquals(
          13,
          count(
              "select count(*) from gates where action = 'run.create' and subject = 'api:racer'"));

      // Slack: 12 mentions of one user at once.
      long now = clock.instant().getEpochSecond();
      List<Sent> mentions =
          all(
              12,
              i ->
                  event(
                      gw,
                      callback(
                          "Ev0FLOOD" + i,
                          SlackApiStandIn.TEAM,
                          false,
                          mention(
                              "C0DEV",
                              "U0FLOOD",
                              SlackApiStandIn.TEAM,
                              "1700002000.0001" + (10 + i),
                              null,
                              "flood " + i)),
                      now,
                      Map.of()));
      assertTrue(mentions.stream().allMatch(s -> s.status() == 200), mentions.toString());
      assertEquals(
          3, count("select count(*) from runs where source = 'slack' and requester = 'U0FLOOD'"));
      assertEquals(
          9,
          count(
              "select count(*) from gates where action = 'run.create' and subject = 'slack:U0FLOOD'"));
      slack.awaitCalls("chat.postEphemeral", 9, WAIT);
      assertTrue(
          slack.calls("chat.postEphemeral").stream()
              .allMatch(
                  c ->
                      c.params()
                          .get("text")
                          .startsWith("You already have as many Worka runs under way")),
          slack.calls("chat.postEphemeral").toString());
      assertEquals(0, slack.calls("chat.postMessage").size());

      // GitHub: 10 comments of one member at once.
      List<TestGateway.Answer> comments =
          all(
              10,
              i ->
                  deliver(
                      gw,
                      UUID.randomUUID().toString(),
                      comment(
                          300 + i,
                          "octo",
                          "MEMBER",
                          "acme/widgets",
                          7,
                          "@worka comment on acme/widgets#7: " + i)));
      assertEquals(
          3, comments.stream().filter(a -> a.body().has("run_id")).count(), statuses(comments));
      assertEquals(
          7,
          comments.stream()
              .filter(a -> "quota_exceeded".equals(a.body().path("refused").asText()))
              .count(),
          statuses(comments));
      assertEquals(
          3, count("select count(*) from runs where source = 'github' and requester = 'octo'"));
      assertEquals(9, count("select count(*) from runs"));
      assertEquals(29, refusals(gw).size());
    }
  }

  // ---------------------------------------------------------------------------------------------

  static TestGateway.Answer post(TestGateway gw, String source, String requester, String key) {
    ObjectNode body =
        Json.STRICT
            .createObjectNode()
            .put("text", "open an issue in acme/widgets titled 'x'")
            .put("source", source);
    if (requester != null) {
      body.put("requester", requester);
    }
    Map<String, String> headers =
        new LinkedHashMap<>(
            Map.of(
                "Authorization",
                "Bearer " + TestGateway.OPERATOR_TOKEN,
                "Content-Type",
                "application/json"));
    if (key != null) {
      headers.put("Idempotency-Key", key);
    }
    return gw.call("POST", "/v1/runs", body.toString(), headers);
  }

  static String created(TestGateway.Answer a) {
    assertEquals(202, a.status(), a.raw().body());
    assertFalse(a.body().path("replayed").asBoolean());
    return a.body().path("run_id").asText();
  }

  record Cli(int status, String out, String err) {}

  static Cli cli(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        WorkaCli.execute(env, new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Cli(status, out.toString(), err.toString());
  }

  /**
   * Runs {@code n} calls at the same moment (released together) and returns their answers in order.
   */
  static <T> List<T> all(int n, IndexedCall<T> call) throws Exception {
    CountDownLatch go = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<T>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int index = i;
        Callable<T> task =
            () -> {
              go.await();
              return call.call(index);
            };
        futures.add(pool.submit(task));
      }
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : futures) {
        out.add(f.get());
      }
      return out;
    }
  }

  interface IndexedCall<T> {
    T call(int index) throws Exception;
  }

  static String statuses(List<TestGateway.Answer> answers) {
    return answers.stream().map(a -> a.status() + " " + a.raw().body()).toList().toString();
  }

  static void awaitComments(CountingGithubMcpServer server, long issue, int n) {
    await(n + " comments on issue " + issue)
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> server.comments("acme", "widgets", issue), comments -> comments.size() >= n);
  }
}
