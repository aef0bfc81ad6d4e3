package dev.worka.gateway.ingress.github;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.Sha256;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What Worka and its agents post on GitHub, end to end: signed comment deliveries to a live
 * Gateway, real planner and worker processes, the counting MCP server as GitHub. A comment the
 * agent posts mentions nobody and hides no link; Worka's answers are gated ({@code delivery.post},
 * committed before each post) and go to the issue the request came from; a run that fails because
 * GitHub answered with an ugly error is answered with the cleaned short reason only.
 */
class GithubAnswersTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  private static final String SECRET = "webhook-secret-for-answers-0123456789";
  private static final String TOKEN = "ghp_answerstesttoken0123456789abcdef";
  private static final Duration ANSWER = Duration.ofSeconds(90);

  @TempDir Path home;

  private static String sign(String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  private static String startRun(TestGateway gw, String text, long issue) throws Exception {
    String body =
        "{\"action\": \"created\", \"issue\": {\"number\": "
            + issue
            + ", \"title\": \"Flaky login\"},"
            + " \"comment\": {\"id\": "
            + (1000 + issue)
            + ", \"body\": "
            + Json.write(Json.STRICT.getNodeFactory().textNode(text))
            + ", \"html_url\": \"https://github.test/acme/widgets/issues/"
            + issue
            + "#issuecomment-1\","
            + " \"user\": {\"login\": \"octo\", \"type\": \"User\"}, \"author_association\": \"OWNER\"},"
            + " \"repository\": {\"name\": \"widgets\", \"full_name\": \"acme/widgets\", \"owner\": {\"login\": \"acme\"}},"
            + " \"sender\": {\"login\": \"octo\", \"type\": \"User\"}}";
    TestGateway.Answer a =
        gw.call(
            "POST",
            "/github/webhook",
            body,
            Map.of(
                "Content-Type",
                "application/json",
                "X-GitHub-Event",
                "issue_comment",
                "X-GitHub-Delivery",
                UUID.randomUUID().toString(),
                "X-Hub-Signature-256",
                sign(body)));
    assertEquals(202, a.status(), a.raw().body());
    return a.body().path("run_id").asText();
  }

  private TestGateway start(CountingGithubMcpServer server) throws Exception {
    return TestGateway.startWithEnvironment(
        home,
        db.url(),
        TestGateway.builtinPolicyForTests(),
        "live",
        Map.of(
            "GITHUB_MCP_URL",
            server.url(),
            "GITHUB_TOKEN",
            TOKEN,
            "GITHUB_WEBHOOK_SECRET",
            SECRET));
  }

  private static long deliveryGates() {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("select count(*) from gates where action = 'delivery.post'")) {
      rs.next();
      return rs.getLong(1);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<CountingGithubMcpServer.Comment> awaitComments(
      CountingGithubMcpServer server, long issue, String containing) {
    return await("a comment containing " + containing + " on issue " + issue)
        .atMost(ANSWER)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> server.comments("acme", "widgets", issue),
            found -> found.stream().anyMatch(c -> c.body().contains(containing)));
  }

  private static List<JsonNode> gates(JsonNode story, String action) {
    List<JsonNode> out = new ArrayList<>();
    story
        .path("gates")
        .forEach(
            g -> {
              if (g.path("action").asText().equals(action)) {
                out.add(g);
              }
            });
    return out;
  }

  @Test
  void aCommentRunIsAnsweredOnItsIssueAndWhatTheAgentPostsMentionsNobodyAndHidesNoLink()
      throws Exception {
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, TOKEN, Set.of());
        TestGateway gw = start(server)) {
      List<String> seen = new CopyOnWriteArrayList<>();
      server.onCall(
          (tool, args) -> {
            if (tool.equals("add_issue_comment")) {
              seen.add(deliveryGates() + " " + args.path("body").asText());
            }
          });
      CountingGithubMcpServer.Issue issue =
          server.seedIssue("acme", "widgets", "Flaky login", "It fails on CI");
      String runId =
          startRun(
              gw,
              "@worka comment on acme/widgets#"
                  + issue.number()
                  + ": thanks @octocat and @acme/security, see [the fix](https://evil.example/fix)",
              issue.number());

      JsonNode story = gw.finish(runId);
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      List<CountingGithubMcpServer.Comment> comments =
          awaitComments(server, issue.number(), "succeeded");
      assertEquals(
          3, comments.size(), "acknowledgement, the agent's comment, the result: " + comments);
      String byAgent =
          comments.stream()
              .map(CountingGithubMcpServer.Comment::body)
              .filter(b -> b.contains("thanks"))
              .findFirst()
              .orElseThrow();
      assertTrue(
          byAgent.startsWith(
              "thanks @\u200boctocat and @\u200bacme/security, see [the fix]\u200b(https://evil.example/fix)"),
          byAgent);
      for (CountingGithubMcpServer.Comment c : comments) {
        assertFalse(c.body().matches("(?s).*@[A-Za-z0-9].*"), "a live mention in: " + c.body());
        assertFalse(c.body().contains("](http"), "a link hiding its target in: " + c.body());
      }

      JsonNode after = gw.story(runId);
      List<JsonNode> delivery = gates(after, "delivery.post");
      assertEquals(2, delivery.size(), after.path("gates").toPrettyString());
      for (JsonNode g : delivery) {
        assertEquals("allow", g.path("status").asText(), g.toString());
        assertEquals("worka", g.path("subject").asText(), g.toString());
        assertTrue(
            g.path("reason")
                .asText()
                .contains(
                    "github acme/widgets#" + issue.number() + ", where the request came from"),
            g.toString());
      }
      JsonNode all = after.path("gates");
      assertEquals(delivery.get(1), all.get(all.size() - 1), "the result's gate is the run's last");
      // The evidence: the agent's comment (its effect) and Worka's two answers, each by its URL.
      Map<String, List<String>> evidence = new java.util.TreeMap<>();
      for (JsonNode a : after.path("artifacts")) {
        evidence
            .computeIfAbsent(a.path("kind").asText(), k -> new ArrayList<>())
            .add(a.path("uri").asText());
        assertEquals(Sha256.hex(a.path("uri").asText()), a.path("sha256").asText(), a.toString());
      }
      List<String> answers = new ArrayList<>();
      for (JsonNode n : after.path("notifications")) {
        answers.add(n.path("upstream_ref").asText());
      }
      String agentsComment = after.path("skill_invocations").get(0).path("upstream_ref").asText();
      assertEquals(
          Map.of("delivery", answers, "upstream_ref", List.of(agentsComment)),
          evidence,
          after.path("artifacts").toPrettyString());
      assertEquals(2, answers.size(), after.path("notifications").toPrettyString());
      assertTrue(
          seen.stream().anyMatch(t -> t.startsWith("1 Worka accepted")),
          "the acknowledgement after its gate: " + seen);
      assertTrue(
          seen.stream().anyMatch(t -> t.startsWith("2 Worka run")),
          "the result after its gate: " + seen);
    }
  }

  @Test
  void aRunThatFailsOnAnUglyUpstreamErrorIsAnsweredWithTheCleanedShortReasonOnly()
      throws Exception {
    String internal = UUID.randomUUID().toString();
    String ugly =
        "POST https://x-access-token:ghp_"
            + "Z".repeat(36)
            + "@api.github.com/repos/acme/widgets/issues"
            + "?access_token=hunter2-hunter2: 422 Unprocessable Entity {\"message\": \"Validation Failed\", \"errors\":"
            + " [{\"code\": \"custom\", \"message\": \"SELECT * FROM issues WHERE id = 5\"}], \"request_id\": \""
            + internal
            + "\", \"documentation_url\": \"https://docs.github.com/rest/issues\"}"
            + "\n\tat org.kohsuke.github.GitHubClient.send(GitHubClient.java:402)";
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, TOKEN, Set.of());
        TestGateway gw = start(server)) {
      server.failWith("create_issue", ugly);
      CountingGithubMcpServer.Issue issue =
          server.seedIssue("acme", "widgets", "Flaky login", "It fails on CI");
      String runId =
          startRun(gw, "@worka open an issue in acme/widgets titled 'Boom'", issue.number());

      JsonNode story = gw.finish(runId);
      assertEquals("failed", story.path("status").asText(), story.toPrettyString());
      assertTrue(
          story.path("error").asText().contains("Validation Failed"),
          "operators keep the whole reason: " + story.path("error"));
      List<CountingGithubMcpServer.Comment> comments =
          awaitComments(server, issue.number(), "failed");
      String answer =
          comments.stream()
              .map(CountingGithubMcpServer.Comment::body)
              .filter(b -> b.contains("failed"))
              .findFirst()
              .orElseThrow();
      assertTrue(answer.contains("Worka run `" + runId + "` failed: step "), answer);
      assertTrue(answer.contains("github.create_issue failed"), answer);
      assertTrue(answer.contains("GitHub MCP tool create_issue answered with an error"), answer);
      String reason =
          answer.substring(
              answer.indexOf(" failed: ") + " failed: ".length(), answer.indexOf("\n"));
      assertTrue(
          reason.length() <= 302 && reason.endsWith(" …"), "short, and marked as cut: " + reason);
      for (String leak :
          List.of(
              "ghp_",
              "ZZZZ",
              "x-access-token",
              "hunter2",
              "/repos/acme",
              "Validation Failed",
              "SELECT",
              "FROM issues",
              internal,
              "documentation_url",
              "docs.github.com",
              "kohsuke",
              "GitHubClient.java",
              "see the burns",
              TOKEN)) {
        assertFalse(answer.contains(leak), leak + " leaked into the public answer: " + answer);
      }
      assertEquals(0, server.effects("create_issue"));
      List<JsonNode> delivery = gates(gw.story(runId), "delivery.post");
      assertEquals(2, delivery.size(), delivery.toString());
    }
  }
}
