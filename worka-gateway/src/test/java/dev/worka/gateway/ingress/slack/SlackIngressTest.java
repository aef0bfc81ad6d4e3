package dev.worka.gateway.ingress.slack;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.slack.api.app_backend.SlackSignature;
import dev.worka.gateway.OtlpReceiver;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slack's requests to a real Gateway (HTTP mode: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, and
 * SLACK_API_URL pointing at the Web API stand-in), signed as Slack signs them (the SDK's {@link
 * SlackSignature.Generator}), with real planner and worker processes, and the answers the
 * notification loop posts back to the stand-in.
 */
class SlackIngressTest {
  static final String SECRET = "slack-signing-Secret-8e3f1c";
  static final String BOT_TOKEN = "xoxb-ingress-Secret-9090";
  static final Duration ANSWER = Duration.ofSeconds(90);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  private SlackApiStandIn slack;
  private TestGateway gw;
  private OtlpReceiver collector;

  @BeforeEach
  void start() throws Exception {
    slack = new SlackApiStandIn();
    collector = new OtlpReceiver();
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            TestGateway.builtinPolicyForTests(),
            "dry-run",
            Map.of(
                "SLACK_BOT_TOKEN",
                BOT_TOKEN,
                "SLACK_SIGNING_SECRET",
                SECRET,
                "SLACK_API_URL",
                slack.url(),
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                collector.url(),
                "OTEL_BSP_SCHEDULE_DELAY",
                "20"));
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    slack.close();
    collector.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Requests as Slack sends them

  record Sent(int status, String body) {}

  /**
   * POSTs {@code body} to {@code path} signed with {@code secret} at {@code timestamp}; Slack waits
   * 3 s.
   */
  Sent send(
      String path,
      String body,
      String contentType,
      String secret,
      long timestamp,
      Map<String, String> extra)
      throws Exception {
    String ts = Long.toString(timestamp);
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gw.baseUrl + path))
            .timeout(Duration.ofSeconds(3)) // Slack's own limit for an acknowledgement
            .header("Content-Type", contentType)
            .header("X-Slack-Request-Timestamp", ts)
            .header("X-Slack-Signature", new SlackSignature.Generator(secret).generate(ts, body))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    extra.forEach(b::header);
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Sent(r.statusCode(), r.body());
  }

  Sent event(String body, Map<String, String> extra) throws Exception {
    return send(
        SlackIngress.EVENTS,
        body,
        "application/json",
        SECRET,
        Instant.now().getEpochSecond(),
        extra);
  }

  static String callback(String eventId, ObjectNode event) {
    ObjectNode p =
        Json.STRICT
            .createObjectNode()
            .put("token", "unused-verification-token")
            .put("team_id", SlackApiStandIn.TEAM)
            .put("api_app_id", "A0TEST")
            .put("type", "event_callback")
            .put("event_id", eventId)
            .put("event_time", 1_700_000_000);
    p.set("event", event);
    p.putArray("authorizations")
        .addObject()
        .put("team_id", SlackApiStandIn.TEAM)
        .put("user_id", SlackApiStandIn.BOT_USER)
        .put("is_bot", true);
    return p.toString();
  }

  static String mention(
      String eventId, String channel, String user, String ts, String threadTs, String text) {
    ObjectNode e =
        Json.STRICT
            .createObjectNode()
            .put("type", "app_mention")
            .put("user", user)
            .put("text", "<@" + SlackApiStandIn.BOT_USER + "> " + text)
            .put("ts", ts)
            .put("channel", channel)
            .put("event_ts", ts);
    if (threadTs != null) {
      e.put("thread_ts", threadTs);
    }
    return callback(eventId, e);
  }

  static String directMessage(
      String eventId, String channel, String user, String botId, String ts, String text) {
    ObjectNode e =
        Json.STRICT
            .createObjectNode()
            .put("type", "message")
            .put("channel_type", "im")
            .put("channel", channel)
            .put("text", text)
            .put("ts", ts)
            .put("event_ts", ts);
    if (user != null) {
      e.put("user", user);
    }
    if (botId != null) {
      e.put("bot_id", botId);
    }
    return callback(eventId, e);
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
  // The database

  record RunRow(
      String id,
      String source,
      String text,
      String requester,
      String channel,
      String user,
      String threadTs,
      String key,
      String status) {}

  static List<RunRow> runs() throws Exception {
    List<RunRow> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select id, source, text, requester, slack_channel, slack_user,"
                    + " slack_thread_ts, idempotency_key, status from runs order by created_at");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(
            new RunRow(
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getString(5),
                rs.getString(6),
                rs.getString(7),
                rs.getString(8),
                rs.getString(9)));
      }
    }
    return out;
  }

  static long rows(String table) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement("select count(*) from " + table);
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void urlVerificationEchoesTheChallenge() throws Exception {
    Sent r =
        event(
            "{\"token\":\"x\",\"challenge\":\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\","
                + "\"type\":\"url_verification\"}",
            Map.of());
    assertEquals(200, r.status());
    assertEquals("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", r.body());
  }

  @Test
  void aBadStaleOrMissingSignatureIs401AndLeavesNoTrace() throws Exception {
    String body = mention("Ev0BAD", "C0DEV", "U0ALICE", "1700000100.000100", null, "what is up?");
    long now = Instant.now().getEpochSecond();
    long runEventsBefore = rows("run_events");
    long gatesBefore = rows("gates");

    assertEquals(
        401,
        send(SlackIngress.EVENTS, body, "application/json", "another-secret", now, Map.of())
            .status(),
        "another signing secret");
    assertEquals(
        401,
        send(SlackIngress.EVENTS, body, "application/json", SECRET, now - 6 * 60, Map.of())
            .status(),
        "stale: six minutes old");
    assertEquals(
        401,
        send(SlackIngress.EVENTS, body, "application/json", SECRET, now + 6 * 60, Map.of())
            .status(),
        "dated six minutes ahead");
    String ts = Long.toString(now);
    String goodSignature = new SlackSignature.Generator(SECRET).generate(ts, body);
    HttpResponse<String> tampered =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(gw.baseUrl + SlackIngress.EVENTS))
                .header("Content-Type", "application/json")
                .header("X-Slack-Request-Timestamp", ts)
                .header("X-Slack-Signature", goodSignature)
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        body.replace("what is up?", "delete everything")))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(401, tampered.statusCode(), "a body changed after signing");
    HttpResponse<String> unsigned =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(gw.baseUrl + SlackIngress.COMMANDS))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("command=%2Fworka&text=hi"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(401, unsigned.statusCode(), "no signature at all");
    assertTrue(unsigned.body().contains("signature_invalid"), unsigned.body());

    assertEquals(List.of(), runs());
    assertEquals(runEventsBefore, rows("run_events"));
    assertEquals(gatesBefore, rows("gates"));
    assertEquals(0, rows("run_notifications"));
    assertEquals(0, slack.calls("chat.postMessage").size());
  }

  @Test
  void anAppMentionBecomesExactlyOneRunEvenWhenSlackRetriesItAndIsAnsweredInItsThread()
      throws Exception {
    String body =
        mention(
            "Ev0MENTION1",
            "C0DEV",
            "U0ALICE",
            "1700000200.000200",
            null,
            "what is our release policy &amp; who owns it?");
    String traceparent = "00-5cf92f3577b34da6a3ce929d0e0e4799-00f067aa0ba902b8-01";
    assertEquals(200, event(body, Map.of("traceparent", traceparent)).status());
    assertEquals(
        200,
        event(body, Map.of("X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout"))
            .status());
    assertEquals(
        200,
        event(body, Map.of("X-Slack-Retry-Num", "2", "X-Slack-Retry-Reason", "http_timeout"))
            .status());

    List<RunRow> runs = runs();
    assertEquals(1, runs.size(), runs.toString());
    RunRow run = runs.get(0);
    assertEquals("slack", run.source());
    assertEquals(
        "what is our release policy & who owns it?",
        run.text(),
        "the mention is stripped, escapes undone");
    assertEquals("U0ALICE", run.requester());
    assertEquals("U0ALICE", run.user());
    assertEquals("C0DEV", run.channel());
    assertEquals(
        "1700000200.000200", run.threadTs(), "a top-level mention is answered in its own thread");
    assertEquals("slack:event:Ev0MENTION1", run.key());

    SlackApiStandIn.Message ack = slack.awaitPost(p -> p.text().contains("accepted"), ANSWER);
    assertEquals("C0DEV", ack.channel());
    assertEquals("1700000200.000200", ack.threadTs());
    assertTrue(ack.text().contains(run.id()), ack.text());
    JsonNode story = gw.finish(run.id());
    assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
    assertEquals(
        "5cf92f3577b34da6a3ce929d0e0e4799",
        story.path("trace_id").asText(),
        "the run continues the trace of the event request's traceparent");
    // One trace: the event request (child of the caller's span) → the run → its attempts.
    List<OtlpReceiver.ReceivedSpan> spans =
        await("the run's spans exported")
            .atMost(ANSWER)
            .pollInterval(Duration.ofMillis(50))
            .until(
                () -> collector.spansOf("5cf92f3577b34da6a3ce929d0e0e4799"),
                l ->
                    l.stream().filter(x -> x.name().equals("worka.step")).count() == 2
                        && l.stream().anyMatch(x -> x.name().equals("worka.run")));
    OtlpReceiver.ReceivedSpan ingress =
        spans.stream().filter(x -> x.name().equals("worka.ingress")).findFirst().orElseThrow();
    assertEquals("00f067aa0ba902b8", ingress.parentSpanId());
    assertEquals("POST " + SlackIngress.EVENTS, ingress.attributes().get("http.route"));
    assertEquals("slack", ingress.attributes().get("worka.source"));
    OtlpReceiver.ReceivedSpan runSpan =
        spans.stream().filter(x -> x.name().equals("worka.run")).findFirst().orElseThrow();
    assertEquals(ingress.spanId(), runSpan.parentSpanId());
    assertTrue(
        spans.stream()
            .filter(x -> x.name().equals("worka.step"))
            .allMatch(x -> x.parentSpanId().equals(runSpan.spanId())),
        spans.toString());
    SlackApiStandIn.Message result = slack.awaitPost(p -> p.text().contains("succeeded"), ANSWER);
    assertEquals("1700000200.000200", result.threadTs());
    assertTrue(result.text().contains(run.id()), result.text());
    assertEquals(2, slack.posts().size(), "one acknowledgement, one result: " + slack.posts());
    assertTrue(
        slack.calls().stream().allMatch(c -> ("Bearer " + BOT_TOKEN).equals(c.authorization())));
    assertFalse(story.toString().contains(BOT_TOKEN));
    assertFalse(story.toString().contains(SECRET));
  }

  @Test
  void aMentionInAThreadIsAnsweredInThatThreadAndARefusalSaysWhatAndWhy() throws Exception {
    String body =
        mention(
            "Ev0DELETE",
            "C0DEV",
            "U0MALLORY",
            "1700000300.000400",
            "1700000300.000100",
            "delete the repository acme/widgets");
    assertEquals(200, event(body, Map.of()).status());
    RunRow run = runs().get(0);
    assertEquals("1700000300.000100", run.threadTs(), "the thread the mention was in");

    JsonNode story = gw.finish(run.id());
    assertEquals("rejected", story.path("status").asText(), story.toPrettyString());
    SlackApiStandIn.Message refusal = slack.awaitPost(p -> p.text().contains("refused"), ANSWER);
    assertEquals("1700000300.000100", refusal.threadTs());
    assertTrue(refusal.text().contains(run.id()), refusal.text());
    assertTrue(refusal.text().contains("delete_repository"), refusal.text());
  }

  @Test
  void aDirectMessageBecomesARunAndTheBotsOwnMessagesNever() throws Exception {
    assertEquals(
        200,
        event(
                directMessage(
                    "Ev0DM1",
                    "D0DM",
                    "U0BOB",
                    null,
                    "1700000400.000100",
                    "hello, what can you do?"),
                Map.of())
            .status());
    assertEquals(
        200,
        event(
                directMessage(
                    "Ev0DM2",
                    "D0DM",
                    SlackApiStandIn.BOT_USER,
                    SlackApiStandIn.BOT_ID,
                    "1700000400.000200",
                    "Worka accepted this request as run x"),
                Map.of())
            .status());
    assertEquals(
        200,
        event(
                directMessage(
                    "Ev0DM3", "D0DM", null, "B0OTHER", "1700000400.000300", "another bot"),
                Map.of())
            .status());

    List<RunRow> runs = runs();
    assertEquals(1, runs.size(), runs.toString());
    assertEquals("D0DM", runs.get(0).channel());
    assertEquals("U0BOB", runs.get(0).requester());
    assertEquals("hello, what can you do?", runs.get(0).text());
    gw.finish(runs.get(0).id());
    SlackApiStandIn.Message result = slack.awaitPost(p -> p.text().contains("succeeded"), ANSWER);
    assertEquals("D0DM", result.channel());
    assertEquals("1700000400.000100", result.threadTs());
  }

  @Test
  void theSlashCommandStartsARunAndAnswersAtOnce() throws Exception {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("token", "unused");
    fields.put("team_id", SlackApiStandIn.TEAM);
    fields.put("channel_id", "C0DEV");
    fields.put("user_id", "U0CAROL");
    fields.put("command", "/worka");
    fields.put("text", "what changed in the last release?");
    fields.put("response_url", "https://hooks.slack.test/commands/1/2/3");
    fields.put("trigger_id", "1700000500.1.abc");
    String body = form(fields);
    Sent r =
        send(
            SlackIngress.COMMANDS,
            body,
            "application/x-www-form-urlencoded",
            SECRET,
            Instant.now().getEpochSecond(),
            Map.of());
    assertEquals(200, r.status(), r.body());
    List<RunRow> runs = runs();
    assertEquals(1, runs.size());
    RunRow run = runs.get(0);
    JsonNode answer = Json.parse(r.body());
    assertEquals("ephemeral", answer.path("response_type").asText(), r.body());
    assertTrue(answer.path("text").asText().contains(run.id()), r.body());
    assertEquals("slack", run.source());
    assertEquals("what changed in the last release?", run.text());
    assertEquals("C0DEV", run.channel());
    assertNull(run.threadTs(), "a command has no thread: answered in its conversation");
    assertEquals("slack:command:1700000500.1.abc", run.key());

    assertEquals(
        200,
        send(
                SlackIngress.COMMANDS,
                body,
                "application/x-www-form-urlencoded",
                SECRET,
                Instant.now().getEpochSecond(),
                Map.of())
            .status());
    assertEquals(1, runs().size(), "the same trigger twice is one run");

    SlackApiStandIn.Message ack = slack.awaitPost(p -> p.text().contains("accepted"), ANSWER);
    assertEquals("C0DEV", ack.channel());
    assertNull(ack.threadTs());

    fields.put("text", "  ");
    fields.put("trigger_id", "1700000500.2.def");
    Sent empty =
        send(
            SlackIngress.COMMANDS,
            form(fields),
            "application/x-www-form-urlencoded",
            SECRET,
            Instant.now().getEpochSecond(),
            Map.of());
    assertEquals(200, empty.status());
    assertTrue(Json.parse(empty.body()).path("text").asText().contains("/worka"), empty.body());
    assertEquals(1, runs().size(), "an empty command starts nothing");
  }

  @Test
  void aButtonIsAcknowledgedAndStartsNothing() throws Exception {
    String payload =
        "{\"type\":\"block_actions\",\"team\":{\"id\":\"T0TEST\",\"domain\":\"t\"},"
            + "\"user\":{\"id\":\"U0ALICE\",\"team_id\":\"T0TEST\"},\"api_app_id\":\"A0TEST\",\"token\":\"unused\","
            + "\"trigger_id\":\"1.2.3\",\"channel\":{\"id\":\"C0DEV\",\"name\":\"dev\"},"
            + "\"response_url\":\"https://hooks.slack.test/actions/1\","
            + "\"actions\":[{\"action_id\":\"approve\",\"block_id\":\"b1\",\"type\":\"button\",\"value\":\"x\","
            + "\"action_ts\":\"1700000600.000100\"}]}";
    Sent r =
        send(
            SlackIngress.INTERACTIVITY,
            form(Map.of("payload", payload)),
            "application/x-www-form-urlencoded",
            SECRET,
            Instant.now().getEpochSecond(),
            Map.of());
    assertEquals(200, r.status(), r.body());
    assertEquals(List.of(), runs());
  }
}
