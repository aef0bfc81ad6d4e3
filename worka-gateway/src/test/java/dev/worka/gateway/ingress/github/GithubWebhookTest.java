package dev.worka.gateway.ingress.github;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.OtlpReceiver;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signed GitHub deliveries to a running Gateway in live mode, its answers posted through a real MCP
 * server that counts effects.
 */
class GithubWebhookTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  private static final String SECRET = "webhook-secret-for-tests-0123456789";
  private static final String TOKEN = "ghp_webhooktesttoken0123456789abcdef";

  @TempDir Path home;

  private static String sign(String body, String secret) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  private static TestGateway.Answer deliver(
      TestGateway gw,
      String event,
      String delivery,
      String body,
      String signature,
      String traceparent) {
    Map<String, String> headers =
        new java.util.HashMap<>(
            Map.of(
                "Content-Type",
                "application/json",
                "X-GitHub-Event",
                event,
                "X-GitHub-Delivery",
                delivery));
    if (signature != null) {
      headers.put("X-Hub-Signature-256", signature);
    }
    if (traceparent != null) {
      headers.put("traceparent", traceparent);
    }
    return gw.call("POST", "/github/webhook", body, headers);
  }

  private static String comment(String text, long issue, String userType) {
    return "{\"action\": \"created\", \"issue\": {\"number\": "
        + issue
        + ", \"title\": \"Flaky login\"},"
        + " \"comment\": {\"id\": 77, \"body\": "
        + dev.worka.protocol.Json.write(
            dev.worka.protocol.Json.STRICT.getNodeFactory().textNode(text))
        + ", \"html_url\": \"https://github.test/acme/widgets/issues/"
        + issue
        + "#issuecomment-77\","
        + " \"author_association\": \"MEMBER\","
        + " \"user\": {\"login\": \"octo\", \"type\": \""
        + userType
        + "\"}},"
        + " \"repository\": {\"name\": \"widgets\", \"full_name\": \"acme/widgets\", \"owner\": {\"login\": \"acme\"}},"
        + " \"sender\": {\"login\": \"octo\", \"type\": \""
        + userType
        + "\"}}";
  }

  private TestGateway start(CountingGithubMcpServer server) throws Exception {
    return start(server, Map.of());
  }

  private TestGateway start(CountingGithubMcpServer server, Map<String, String> more)
      throws Exception {
    Map<String, String> env =
        new java.util.HashMap<>(
            Map.of(
                "GITHUB_MCP_URL",
                server.url(),
                "GITHUB_TOKEN",
                TOKEN,
                "GITHUB_WEBHOOK_SECRET",
                SECRET));
    env.putAll(more);
    return TestGateway.startWithEnvironment(
        home, db.url(), TestGateway.builtinPolicyForTests(), "live", env);
  }

  private static long runs() throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select count(*) from runs")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void aMentionInACommentBecomesOneRunWhoseAnswersArePostedOnTheIssueOnce() throws Exception {
    try (OtlpReceiver langfuse = new OtlpReceiver();
        CountingGithubMcpServer server = CountingGithubMcpServer.http(0, TOKEN, Set.of());
        TestGateway gw =
            start(
                server,
                Map.of(
                    "LANGFUSE_HOST", langfuse.url(),
                    "LANGFUSE_PUBLIC_KEY", "pk-lf-test",
                    "LANGFUSE_SECRET_KEY", "sk-lf-test-secret-0123456789"))) {
      CountingGithubMcpServer.Issue flaky =
          server.seedIssue("acme", "widgets", "Flaky login", "It fails on CI");
      String body =
          comment(
              "@worka open an issue in acme/widgets titled 'Login test is flaky'",
              flaky.number(),
              "User");
      String delivery = UUID.randomUUID().toString();
      String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

      TestGateway.Answer first =
          deliver(gw, "issue_comment", delivery, body, sign(body, SECRET), traceparent);
      TestGateway.Answer again =
          deliver(gw, "issue_comment", delivery, body, sign(body, SECRET), null);

      assertEquals(202, first.status(), first.raw().body());
      String runId = first.body().path("run_id").asText();
      assertEquals(
          "4bf92f3577b34da6a3ce929d0e0e4736",
          first.body().path("trace_id").asText(),
          "the run continues the trace the delivery started");
      assertEquals(runId, again.body().path("run_id").asText(), "a redelivery is the same run");
      assertTrue(again.body().path("replayed").asBoolean());
      assertEquals(1, runs());

      JsonNode story = gw.finish(runId);
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      assertEquals("github", story.path("source").asText());
      assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", story.path("trace_id").asText());
      assertEquals(1, server.effects("create_issue"));

      List<CountingGithubMcpServer.Comment> answers = awaitComments(server, flaky.number(), 2);
      assertTrue(answers.get(0).body().contains("run `" + runId + "`"), answers.get(0).body());
      assertTrue(answers.get(1).body().contains("succeeded"), answers.get(1).body());
      assertTrue(
          answers
              .get(1)
              .body()
              .contains("Trace: " + langfuse.url() + "/trace/4bf92f3577b34da6a3ce929d0e0e4736"),
          "the result links the run's trace in Langfuse: " + answers.get(1).body());
      assertFalse(
          answers.get(1).body().contains("@worka"), "the answer mentions nobody, not even Worka");
      assertEquals(2, server.effects("add_issue_comment"), "each answer posted once");
      // A comment is visible on GitHub a moment before its notification is recorded as sent.
      JsonNode notifications =
          await("both notifications recorded as sent")
              .atMost(Duration.ofSeconds(30))
              .pollInterval(Duration.ofMillis(50))
              .until(
                  () -> gw.story(runId).path("notifications"),
                  seen ->
                      java.util.stream.StreamSupport.stream(seen.spliterator(), false)
                              .filter(n -> n.path("status").asText().equals("sent"))
                              .count()
                          >= 2);
      assertEquals(2, notifications.size(), notifications.toString());
      for (JsonNode n : notifications) {
        assertEquals("sent", n.path("status").asText(), n.toString());
        assertTrue(
            n.path("upstream_ref").asText().startsWith("https://github.test/acme/widgets/issues/"),
            n.toString());
      }

      // The Gateway's own answers come back as deliveries too: they start nothing.
      String echo = comment(answers.get(1).body(), flaky.number(), "User");
      TestGateway.Answer ignored =
          deliver(
              gw, "issue_comment", UUID.randomUUID().toString(), echo, sign(echo, SECRET), null);
      assertEquals(202, ignored.status());
      assertTrue(ignored.body().has("ignored"), ignored.raw().body());
      assertEquals(1, runs());
    }
  }

  @Test
  void badSignaturesLeaveNoTraceAndPingIsAnswered() throws Exception {
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, TOKEN, Set.of());
        TestGateway gw = start(server)) {
      String body = comment("@worka open an issue in acme/widgets titled 'x'", 1, "User");
      assertEquals(401, deliver(gw, "issue_comment", "d-1", body, null, null).status(), "unsigned");
      TestGateway.Answer wrong =
          deliver(gw, "issue_comment", "d-2", body, sign(body, "another-secret"), null);
      assertEquals(401, wrong.status());
      assertEquals("signature_invalid", wrong.body().path("error").asText());
      assertEquals(
          401,
          deliver(gw, "issue_comment", "d-3", body + " ", sign(body, SECRET), null).status(),
          "tampered");
      assertEquals(
          401, deliver(gw, "issue_comment", "d-4", body, "sha256=zz", null).status(), "not hex");
      assertEquals(0, runs());

      String ping = "{\"zen\": \"Keep it logically awesome.\", \"hook_id\": 1}";
      TestGateway.Answer pong = deliver(gw, "ping", "d-5", ping, sign(ping, SECRET), null);
      assertEquals(200, pong.status(), pong.raw().body());
      assertTrue(pong.body().path("pong").asBoolean());

      for (String[] c :
          List.of(
              new String[] {"no mention here", "User"},
              new String[] {"@worka do it", "Bot"},
              new String[] {"mail me at me@worka.dev", "User"},
              new String[] {"@workaholic hi", "User"})) {
        String other = comment(c[0], 1, c[1]);
        TestGateway.Answer a =
            deliver(
                gw,
                "issue_comment",
                UUID.randomUUID().toString(),
                other,
                sign(other, SECRET),
                null);
        assertEquals(202, a.status(), c[0]);
        assertTrue(a.body().has("ignored"), c[0] + ": " + a.raw().body());
      }
      assertEquals(0, runs());
    }
  }

  private static List<CountingGithubMcpServer.Comment> awaitComments(
      CountingGithubMcpServer server, long issue, int n) {
    return await(n + " comments on issue " + issue)
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> server.comments("acme", "widgets", issue), found -> found.size() >= n);
  }
}
