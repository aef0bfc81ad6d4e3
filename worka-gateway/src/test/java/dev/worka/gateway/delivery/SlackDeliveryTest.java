package dev.worka.gateway.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.slack.api.Slack;
import com.slack.api.SlackConfig;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Burn;
import dev.worka.gateway.delivery.slack.SlackNotifier;
import dev.worka.gateway.redaction.Redactor;
import dev.worka.gateway.run.ReplyTo;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The notification loop with the real Slack notifier against the Web API stand-in, one tick at a
 * time on a settable clock: answers go into the run's thread; Slack failures are retried with
 * backoff and end in a {@code delivery} burn, at once when Slack says trying again cannot help.
 */
class SlackDeliveryTest {
  static final String TOKEN = "xoxb-delivery-Secret-5151";

  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final AuditLog audit = new AuditLog(clock);
  private SlackApiStandIn slack;
  private Slack sdk;
  private NotifyRuns loop;
  private UUID policy;

  @BeforeEach
  void start() throws Exception {
    slack = new SlackApiStandIn();
    SlackConfig config = new SlackConfig();
    config.setMethodsEndpointUrlPrefix(slack.url());
    sdk = Slack.getInstance(config);
    loop =
        new NotifyRuns(
            db.dataSource(),
            runs,
            new RunNotifications(clock),
            audit,
            List.of(new SlackNotifier(sdk.methods(TOKEN), false, new Redactor(List.of(TOKEN)))),
            clock,
            new SplittableRandom(3),
            "gw-test");
    policy =
        new dev.worka.gateway.policy.PolicyStore(db.dataSource(), clock)
            .activate(dev.worka.gateway.policy.BuiltinPolicy.source(), "test")
            .id();
  }

  @AfterEach
  void stop() throws Exception {
    sdk.close();
    slack.close();
  }

  private Run run(String channel, String threadTs) {
    return Transactions.inTransaction(
        db.dataSource(),
        c ->
            runs.insert(
                c,
                new RunStore.NewRun(
                    RunSource.SLACK,
                    "hello",
                    "U1",
                    new ReplyTo.SlackThread(channel, "U1", threadTs, null, null, null, null),
                    null,
                    "hash",
                    "trace",
                    policy,
                    null),
                "test"));
  }

  private void refuse(Run run, String why) {
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          runs.transition(
                  c, run.id(), RunStatus.RECEIVED, RunStatus.PLANNING, "test", null, null, null)
              .requireApplied("test setup: run");
          return runs.transition(
              c, run.id(), RunStatus.PLANNING, RunStatus.REJECTED, "test", null, why, null);
        });
  }

  private List<Burn> burns(Run run) {
    return Transactions.withConnection(db.dataSource(), c -> audit.burnsOfRun(c, run.id()));
  }

  @Test
  void theAcknowledgementAndTheRefusalArePostedInTheThreadAndNothingInThemNotifies() {
    Run run = run("C0DEV", "1700000001.000001");
    assertEquals(1, loop.sendDue(10));
    refuse(run, "github.delete_repository is not allowed for <!channel> & co");
    assertEquals(1, loop.sendDue(10));

    List<SlackApiStandIn.Message> posts = slack.posts();
    assertEquals(2, posts.size(), posts.toString());
    for (SlackApiStandIn.Message p : posts) {
      assertEquals("C0DEV", p.channel());
      assertEquals("1700000001.000001", p.threadTs());
      assertTrue(p.text().contains(run.id().toString()), p.text());
    }
    String refusal = posts.get(1).text();
    assertTrue(refusal.contains("was refused"), refusal);
    assertTrue(
        refusal.contains("github.delete_repository is not allowed for @\u200bchannel &amp; co"),
        refusal);
    for (SlackApiStandIn.Call c : slack.calls("chat.postMessage")) {
      assertEquals("Bearer " + TOKEN, c.authorization());
      assertEquals("0", c.params().get("link_names"), "link_names off");
      assertEquals("none", c.params().get("parse"));
    }
    List<RunNotifications.Notification> sent =
        Transactions.withConnection(
            db.dataSource(), c -> new RunNotifications(clock).ofRun(c, run.id()));
    assertEquals("C0DEV/" + posts.get(1).ts(), sent.get(1).upstreamRef());
  }

  @Test
  void aFailingSlackIsTriedAgainWithBackoffAndAfterTheLastAttemptIsADeliveryBurn() {
    slack.fail("chat.postMessage", SlackApiStandIn.Failure.status(503), Integer.MAX_VALUE);
    Run run = run("C0DEV", "1700000001.000001");
    for (int attempt = 1; attempt <= NotifyRuns.MAX_ATTEMPTS; attempt++) {
      assertEquals(1, loop.sendDue(10), "attempt " + attempt);
      assertEquals(0, loop.sendDue(10), "not again before its backoff");
      clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    }
    assertEquals(0, loop.sendDue(10), "no attempt after the last");
    assertEquals(NotifyRuns.MAX_ATTEMPTS, slack.calls("chat.postMessage").size());
    List<Burn> burns = burns(run);
    assertEquals(1, burns.size());
    assertEquals("delivery", burns.get(0).kind().sql());
    assertTrue(burns.get(0).reason().contains("HTTP 503"), burns.get(0).reason());
    assertFalse(burns.get(0).reason().contains(TOKEN));
  }

  @Test
  void aRateLimitIsRetriedAndThenSucceeds() {
    slack.fail("chat.postMessage", SlackApiStandIn.Failure.status(429), 2);
    Run run = run("C0DEV", "1700000001.000001");
    for (int i = 0; i < 3; i++) {
      assertEquals(1, loop.sendDue(10));
      clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    }
    assertEquals(1, slack.posts().size());
    assertTrue(burns(run).isEmpty());
  }

  @Test
  void aChannelTheAppCannotPostToFailsAtOnceWithoutRetrying() {
    slack.fail(
        "chat.postMessage", SlackApiStandIn.Failure.error("not_in_channel"), Integer.MAX_VALUE);
    Run run = run("C0DEV", "1700000001.000001");
    assertEquals(1, loop.sendDue(10));
    clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    assertEquals(0, loop.sendDue(10), "not retried");
    assertEquals(1, slack.calls("chat.postMessage").size());
    List<Burn> burns = burns(run);
    assertEquals(1, burns.size());
    assertTrue(burns.get(0).reason().contains("not_in_channel"), burns.get(0).reason());
    assertTrue(burns.get(0).reason().contains("/invite"), burns.get(0).reason());
  }

  @Test
  void anAnswerPostedByAGatewayThatDiedBeforeRecordingItIsFoundByItsMarkAndNotPostedAgain() {
    for (String threadTs : java.util.Arrays.asList("1700000002.000001", null)) {
      Run run = run("C0DEV", threadTs);
      // The Gateway that died: it claimed the acknowledgement and posted it, and recorded nothing.
      assertEquals(
          1,
          Transactions.inTransaction(
                  db.dataSource(),
                  c ->
                      new RunNotifications(clock)
                          .claim(c, "gw-dead", 10, java.time.Duration.ofMinutes(2)))
              .size());
      new SlackNotifier(sdk.methods(TOKEN), false, new Redactor(List.of(TOKEN)))
          .acknowledge(run, false);
      SlackApiStandIn.Message posted = slack.posts().get(slack.posts().size() - 1);
      assertEquals(
          SlackNotifier.METADATA_EVENT_TYPE, posted.metadata().path("event_type").asText());
      assertEquals(
          run.id().toString(), posted.metadata().path("event_payload").path("run").asText());
      assertEquals("ack", posted.metadata().path("event_payload").path("kind").asText());
      int posts = slack.posts().size();

      clock.advance(java.time.Duration.ofMinutes(2).plusSeconds(1));
      assertEquals(1, loop.sendDue(10), "its claim expired: this Gateway takes it over");
      assertEquals(posts, slack.posts().size(), "found by its mark, not posted again");
      List<SlackApiStandIn.Call> looks =
          slack.calls(threadTs == null ? "conversations.history" : "conversations.replies");
      assertEquals(1, looks.size(), "one look at the " + (threadTs == null ? "channel" : "thread"));
      assertTrue(
          List.of("true", "1").contains(looks.get(0).params().get("include_all_metadata")),
          looks.toString());
      RunNotifications.Notification ack =
          Transactions.withConnection(
                  db.dataSource(), c -> new RunNotifications(clock).ofRun(c, run.id()))
              .get(0);
      assertEquals("sent", ack.status());
      assertEquals("C0DEV/" + posted.ts(), ack.upstreamRef());

      refuse(run, "no");
      assertEquals(1, loop.sendDue(10));
      assertEquals(
          posts + 1,
          slack.posts().size(),
          "the result, a first attempt, is posted without looking");
    }
  }

  @Test
  void aSlackThatCannotBeAskedWhetherTheAnswerIsThereDelaysItRatherThanRiskingASecond() {
    slack.seed("C0DEV", "1700000003.000001", null, "U1", "the request");
    slack.fail("chat.postMessage", SlackApiStandIn.Failure.status(503), 1);
    Run run = run("C0DEV", "1700000003.000001");
    assertEquals(1, loop.sendDue(10));
    assertTrue(
        slack.posts().stream().noneMatch(m -> m.metadata() != null), "the 503: nothing posted");
    slack.fail("conversations.replies", SlackApiStandIn.Failure.status(500), 1);
    clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    assertEquals(1, loop.sendDue(10));
    assertEquals(
        1, slack.calls("chat.postMessage").size(), "not posted while Slack could not be asked");
    clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    assertEquals(1, loop.sendDue(10));
    assertEquals(
        1, slack.posts().stream().filter(m -> m.metadata() != null).count(), "then posted, once");
    assertTrue(burns(run).isEmpty());
  }

  @Test
  void aFailureIsAnsweredWithItsCleanedShortReasonOnly() {
    Run run = run("C0DEV", "1700000004.000001");
    assertEquals(1, loop.sendDue(10));
    String step = UUID.randomUUID().toString();
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          runs.transition(
                  c, run.id(), RunStatus.RECEIVED, RunStatus.PLANNING, "test", null, null, null)
              .requireApplied("test setup: run");
          return runs.transition(
              c,
              run.id(),
              RunStatus.PLANNING,
              RunStatus.FAILED,
              "test",
              null,
              "step "
                  + step
                  + " failed: POST https://bot:"
                  + TOKEN
                  + "@slack.example/api/chat.postMessage?x=1: 500 {\"ok\":"
                  + " false}\n\tat com.slack.api.Foo.bar(Foo.java:1) — see the burns of run "
                  + run.id(),
              null);
        });
    assertEquals(1, loop.sendDue(10));
    String answer = slack.posts().get(1).text();
    assertEquals(
        "Worka run `" + run.id() + "` failed: step … failed: POST https://slack.example/…: 500 …",
        answer);
  }
}
