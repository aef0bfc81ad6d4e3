package dev.worka.gateway.ingress.slack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.slack.api.app_backend.SlackSignature;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slack end to end under {@code WORKA_SIDE_EFFECTS=live}: a signed {@code app_mention} becomes a
 * run, real planner and worker processes do the work through the Gateway, the live skills reach
 * their upstreams (the counting GitHub MCP server, the Slack Web API stand-in), and the answer is
 * posted in the thread.
 */
class SlackLiveGatewayTest {
  static final String SECRET = "slack-signing-Secret-live-11";
  static final String BOT_TOKEN = "xoxb-live-Secret-2323";
  static final String GITHUB_TOKEN = "ghp-live-Secret-4545";
  static final Duration ANSWER = Duration.ofSeconds(90);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  static int mention(TestGateway gw, String eventId, String ts, String threadTs, String text)
      throws Exception {
    String body = SlackIngressTest.mention(eventId, "C0DEV", "U0ALICE", ts, threadTs, text);
    String now = Long.toString(Instant.now().getEpochSecond());
    return HTTP.send(
            HttpRequest.newBuilder(URI.create(gw.baseUrl + SlackIngress.EVENTS))
                .timeout(Duration.ofSeconds(3))
                .header("Content-Type", "application/json")
                .header("X-Slack-Request-Timestamp", now)
                .header(
                    "X-Slack-Signature", new SlackSignature.Generator(SECRET).generate(now, body))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  static String runOf(String eventId) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement("select id from runs where idempotency_key = ?")) {
      ps.setString(1, "slack:event:" + eventId);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next(), "a run for " + eventId);
        return rs.getString(1);
      }
    }
  }

  @Test
  void aSignedMentionOpensExactlyOneIssueAndThePostedAnswerSaysSo() throws Exception {
    try (SlackApiStandIn slack = new SlackApiStandIn();
        CountingGithubMcpServer github = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of());
        TestGateway gw =
            TestGateway.startWithEnvironment(
                home,
                db.url(),
                TestGateway.builtinPolicyForTests(),
                "live",
                Map.of(
                    "SLACK_BOT_TOKEN",
                    BOT_TOKEN,
                    "SLACK_SIGNING_SECRET",
                    SECRET,
                    "SLACK_API_URL",
                    slack.url(),
                    "GITHUB_MCP_URL",
                    github.url(),
                    "GITHUB_TOKEN",
                    GITHUB_TOKEN))) {
      assertEquals(
          200,
          mention(
              gw,
              "Ev0ISSUE",
              "1700000700.000100",
              null,
              "open an issue in acme/widgets titled 'Flaky login test'"));
      assertEquals(
          200,
          mention(
              gw,
              "Ev0ISSUE",
              "1700000700.000100",
              null,
              "open an issue in acme/widgets titled 'Flaky login test'"),
          "Slack's retry");
      String runId = runOf("Ev0ISSUE");

      JsonNode story = gw.finish(runId);
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      assertEquals(1, github.calls("create_issue"), "create_issue calls");
      assertEquals(1, github.effects("create_issue"), "issues created");
      assertEquals("Flaky login test", github.issues("acme", "widgets").get(0).title());

      SlackApiStandIn.Message result = slack.awaitPost(p -> p.text().contains("succeeded"), ANSWER);
      assertEquals("C0DEV", result.channel());
      assertEquals("1700000700.000100", result.threadTs());
      assertTrue(result.text().contains(runId), result.text());
      assertTrue(
          slack.posts().stream()
              .anyMatch(p -> p.text().contains("accepted") && p.text().contains(runId)),
          slack.posts().toString());
      assertFalse(story.toString().contains(BOT_TOKEN));
      assertFalse(story.toString().contains(GITHUB_TOKEN));
    }
  }

  @Test
  void summarizingTheThreadReadsItLiveFromSlackInTheRunsOwnChannel() throws Exception {
    try (SlackApiStandIn slack = new SlackApiStandIn();
        TestGateway gw =
            TestGateway.startWithEnvironment(
                home,
                db.url(),
                TestGateway.builtinPolicyForTests(),
                "live",
                Map.of(
                    "SLACK_BOT_TOKEN",
                    BOT_TOKEN,
                    "SLACK_SIGNING_SECRET",
                    SECRET,
                    "SLACK_API_URL",
                    slack.url()))) {
      slack.seed("C0DEV", "1700000800.000100", null, "U0ALICE", "the nightly build fails on arm64");
      slack.seed(
          "C0DEV",
          "1700000800.000200",
          "1700000800.000100",
          "U0BOB",
          "since the JDK bump, I think");
      JsonNode skills = gw.operator("GET", "/v1/skills", null).body().path("skills");
      for (JsonNode s : skills) {
        if (s.path("name").asText().startsWith("slack.")) {
          assertTrue(s.path("available").asBoolean(), s.toString());
        }
      }

      assertEquals(
          200,
          mention(
              gw, "Ev0SUMMARY", "1700000800.000300", "1700000800.000100", "summarize this thread"));
      String runId = runOf("Ev0SUMMARY");
      JsonNode story = gw.finish(runId);
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());

      SlackApiStandIn.Call read = slack.calls("conversations.replies").get(0);
      assertEquals("C0DEV", read.params().get("channel"));
      assertEquals("1700000800.000100", read.params().get("ts"));
      assertEquals("Bearer " + BOT_TOKEN, read.authorization());
      SlackApiStandIn.Message result = slack.awaitPost(p -> p.text().contains("succeeded"), ANSWER);
      assertEquals("1700000800.000100", result.threadTs());
      assertTrue(result.text().contains("the nightly build fails on arm64"), result.text());
    }
  }
}
