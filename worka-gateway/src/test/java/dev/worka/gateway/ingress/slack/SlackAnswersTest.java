package dev.worka.gateway.ingress.slack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What Worka and its agents post to Slack, end to end under {@code WORKA_SIDE_EFFECTS=live}: a
 * signed mention starts a run whose planner and worker are real processes ({@link PostingWorker});
 * the worker posts through the real skill route a reply full of mentions and disguised links, and
 * tries to post elsewhere; its summary, full of the same, becomes Worka's answer. What reaches the
 * Slack stand-in notifies nobody and hides no link; the built-in policy keeps the worker in the
 * run's own thread; and each of Worka's own answers is a {@code delivery.post} gate committed
 * before it reached Slack.
 */
class SlackAnswersTest {
  static final String THREAD = "1700000900.000100";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  private static String runOf(String eventId) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select id from runs where idempotency_key = 'slack:event:" + eventId + "'")) {
      assertTrue(rs.next(), "a run for " + eventId);
      return rs.getString(1);
    }
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

  @Test
  void postsNotifyNobodyHideNoLinkStayInTheThreadAndEachAnswerIsGatedBeforeItIsPosted()
      throws Exception {
    String policy =
        TestGateway.policyWith(
            Map.of(
                "hari",
                PostingWorker.command("planner"),
                "daneel",
                PostingWorker.command("poster")),
            null);
    try (SlackApiStandIn slack = new SlackApiStandIn();
        TestGateway gw =
            TestGateway.startWithEnvironment(
                home,
                db.url(),
                policy,
                "live",
                Map.of(
                    "SLACK_BOT_TOKEN",
                    SlackLiveGatewayTest.BOT_TOKEN,
                    "SLACK_SIGNING_SECRET",
                    SlackLiveGatewayTest.SECRET,
                    "SLACK_API_URL",
                    slack.url()))) {
      // What the Gateway had committed when each post reached Slack.
      List<String> seen = new CopyOnWriteArrayList<>();
      slack.onCall(
          call -> {
            if (call.method().equals("chat.postMessage")) {
              seen.add(deliveryGates() + " " + call.params().get("text"));
            }
          });
      slack.seed("C0DEV", THREAD, null, "U0ALICE", "the deploy is stuck");
      assertEquals(
          200,
          SlackLiveGatewayTest.mention(
              gw, "Ev0POST", "1700000900.000200", THREAD, "post an answer here"));
      String runId = runOf("Ev0POST");
      JsonNode story = gw.finish(runId);
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      SlackApiStandIn.Message answer =
          slack.awaitPost(p -> p.text().contains("succeeded"), SlackLiveGatewayTest.ANSWER);

      // The worker: its reply went out, inert; the three other posts were refused by the policy.
      JsonNode outcomes = null;
      for (JsonNode step : story.path("steps")) {
        if (step.path("step_ref").asText().equals("post")) {
          outcomes = step.path("output").path("outcomes");
        }
      }
      assertEquals(
          "[\"200 \",\"403 policy_denied\",\"403 policy_denied\",\"403 policy_denied\"]",
          outcomes.toString(),
          story.toPrettyString());
      List<JsonNode> denied = new ArrayList<>();
      story
          .path("gates")
          .forEach(
              g -> {
                if (g.path("action").asText().equals("skill.invoke")
                    && g.path("status").asText().equals("deny")) {
                  denied.add(g);
                }
              });
      assertEquals(3, denied.size(), story.path("gates").toPrettyString());
      denied.forEach(
          g ->
              assertTrue(
                  g.path("reason")
                      .asText()
                      .startsWith("condition of slack.post_message does not hold"),
                  g.toString()));

      List<SlackApiStandIn.Message> posts = slack.posts();
      assertEquals(
          3, posts.size(), "acknowledgement, the worker's one reply, the result: " + posts);
      for (SlackApiStandIn.Message p : posts) {
        assertEquals("C0DEV", p.channel(), p.toString());
        assertEquals(THREAD, p.threadTs(), "everything stays in the run's thread: " + p);
        assertFalse(
            p.text().contains("<") || p.text().contains(">"), "no markup left: " + p.text());
      }
      String reply =
          posts.stream()
              .map(SlackApiStandIn.Message::text)
              .filter(t -> t.contains("evil.example/login"))
              .findFirst()
              .orElseThrow();
      assertEquals(
          "@\u200bchannel &lt;@U0BOB&gt; see &lt;https://evil.example/login|https://good.example&gt;"
              + " in &lt;#C0OTHER&gt; &amp; @\u200bdevs",
          reply);
      assertTrue(
          answer
              .text()
              .contains(
                  "Posted. ＠here &lt;@U0CAROL&gt; read &lt;https://evil.example/phish|the docs&gt;"),
          answer.text());
      for (SlackApiStandIn.Call c : slack.calls("chat.postMessage")) {
        assertEquals("0", c.params().get("link_names"));
        assertEquals("none", c.params().get("parse"));
      }

      // Worka's own answers: a delivery.post gate each, committed before the post reached Slack;
      // the result's is the run's last gate (the result is owed once the run has ended).
      JsonNode gates = gw.story(runId).path("gates");
      List<JsonNode> delivery = new ArrayList<>();
      gates.forEach(
          g -> {
            if (g.path("action").asText().equals("delivery.post")) {
              delivery.add(g);
            }
          });
      assertEquals(2, delivery.size(), gates.toPrettyString());
      assertTrue(
          delivery.get(0).path("reason").asText().startsWith("the acknowledgement to slack"),
          delivery.toString());
      assertTrue(
          delivery.get(1).path("reason").asText().startsWith("the result to slack"),
          delivery.toString());
      assertEquals(delivery.get(1), gates.get(gates.size() - 1), "the result's gate is the last");
      for (JsonNode g : delivery) {
        assertEquals("allow", g.path("status").asText(), g.toString());
        assertEquals("worka", g.path("subject").asText(), g.toString());
        assertTrue(
            g.path("reason").asText().contains("slack channel C0DEV, thread " + THREAD),
            g.toString());
      }
      assertTrue(
          seen.stream().anyMatch(t -> t.startsWith("1 Worka accepted")),
          "the acknowledgement after its gate: " + seen);
      assertTrue(
          seen.stream().anyMatch(t -> t.startsWith("2 Worka run")),
          "the result after its gate: " + seen);
    }
  }
}
