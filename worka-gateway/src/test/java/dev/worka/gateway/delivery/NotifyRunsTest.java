package dev.worka.gateway.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Burn;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.run.ReplyTo;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What runs owe the places their requests came from, sent by the notification loop, against the
 * database.
 */
class NotifyRunsTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final RunNotifications notifications = new RunNotifications(clock);
  private final AuditLog audit = new AuditLog(clock);

  /** A notifier that records what it was asked to send and fails as told. */
  static final class Recording implements RunNotifier {
    final List<String> sent = Collections.synchronizedList(new ArrayList<>());

    /** Per call: whether the loop said an earlier attempt may have posted it. */
    final List<Boolean> maybeSentBefore = Collections.synchronizedList(new ArrayList<>());

    final AtomicInteger failuresLeft = new AtomicInteger();
    volatile boolean retryable = true;

    /**
     * Per call: the delivery.post gates of the run committed when the call came (set by the test).
     */
    final List<Long> gatesAtCall = Collections.synchronizedList(new ArrayList<>());

    volatile java.util.function.ToLongFunction<Run> countGates = r -> -1;

    @Override
    public RunSource source() {
      return RunSource.SLACK;
    }

    @Override
    public AnswerPlace place(Run run) {
      return run.slackChannel() == null
          ? new AnswerPlace.Nowhere("no channel")
          : new AnswerPlace.At(RunSource.SLACK, "channel " + run.slackChannel());
    }

    @Override
    public Optional<String> acknowledge(Run run, boolean maybeSentBefore) {
      this.maybeSentBefore.add(maybeSentBefore);
      gatesAtCall.add(countGates.applyAsLong(run));
      return send("ack " + run.id());
    }

    @Override
    public Optional<String> deliver(Run run, boolean maybeSentBefore) {
      this.maybeSentBefore.add(maybeSentBefore);
      gatesAtCall.add(countGates.applyAsLong(run));
      return send("result " + run.status().sql() + " " + run.id());
    }

    private Optional<String> send(String what) {
      if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new NotificationFailedException("chat.postMessage answered ratelimited", retryable);
      }
      sent.add(what);
      return Optional.of("ts-" + sent.size());
    }
  }

  private NotifyRuns loop(RunNotifier notifier, String owner) {
    return new NotifyRuns(
        db.dataSource(),
        runs,
        notifications,
        audit,
        List.of(notifier),
        clock,
        new SplittableRandom(7),
        owner);
  }

  private java.util.UUID policy;

  private java.util.UUID policy() {
    if (policy == null) {
      policy =
          new dev.worka.gateway.policy.PolicyStore(db.dataSource(), clock)
              .activate(dev.worka.gateway.policy.BuiltinPolicy.source(), "test")
              .id();
    }
    return policy;
  }

  private Run run(RunSource source) {
    java.util.UUID manifest = policy(); // its own transaction, not one inside the insert's
    return Transactions.inTransaction(
        db.dataSource(),
        c ->
            runs.insert(
                c,
                new RunStore.NewRun(
                    source,
                    "hello",
                    "U1",
                    source == RunSource.SLACK
                        ? new ReplyTo.SlackThread("C1", "U1", null, null, null, null, null)
                        : new ReplyTo.Nowhere(),
                    null,
                    null,
                    "trace",
                    manifest,
                    null),
                "test"));
  }

  private void end(Run run, RunStatus via) {
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          runs.transition(
                  c, run.id(), RunStatus.RECEIVED, RunStatus.PLANNING, "test", null, null, null)
              .requireApplied("test setup: run");
          return runs.transition(
              c, run.id(), RunStatus.PLANNING, via, "test", null, "refused: no", null);
        });
  }

  private List<RunNotifications.Notification> of(Run run) {
    return Transactions.withConnection(db.dataSource(), c -> notifications.ofRun(c, run.id()));
  }

  @Test
  void aSlackRunIsAcknowledgedAndAnsweredWhenItEndsAndAnApiRunOwesNothing() {
    Recording slack = new Recording();
    NotifyRuns loop = loop(slack, "gw-1");
    Run fromSlack = run(RunSource.SLACK);
    Run fromApi = run(RunSource.API);
    assertEquals(1, loop.sendDue(10));
    assertEquals(List.of("ack " + fromSlack.id()), slack.sent);
    assertEquals(0, loop.sendDue(10), "sent once");

    end(fromSlack, RunStatus.REJECTED);
    end(fromApi, RunStatus.REJECTED);
    assertEquals(1, loop.sendDue(10));
    assertEquals("result rejected " + fromSlack.id(), slack.sent.get(1));
    assertEquals(List.of(), of(fromApi));
    List<RunNotifications.Notification> owed = of(fromSlack);
    assertEquals(List.of("ack", "result"), owed.stream().map(n -> n.kind().sql()).toList());
    assertTrue(
        owed.stream().allMatch(n -> n.status().equals("sent") && n.attempts() == 1),
        owed.toString());
    assertEquals("ts-2", owed.get(1).upstreamRef());
    assertEquals(
        List.of(false, false), slack.maybeSentBefore, "first attempts: nothing to look for");
  }

  @Test
  void aFailedSendIsTriedAgainAfterItsBackoffAndAfterTheLastAttemptIsABurn() {
    Recording slack = new Recording();
    slack.failuresLeft.set(100);
    NotifyRuns loop = loop(slack, "gw-1");
    Run run = run(RunSource.SLACK);
    for (int attempt = 1; attempt <= NotifyRuns.MAX_ATTEMPTS; attempt++) {
      assertEquals(1, loop.sendDue(10), "attempt " + attempt);
      assertEquals(0, loop.sendDue(10), "not again before its backoff");
      clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    }
    assertEquals(0, loop.sendDue(10), "no attempt after the last");
    RunNotifications.Notification ack = of(run).get(0);
    assertEquals("failed", ack.status());
    assertEquals(NotifyRuns.MAX_ATTEMPTS, ack.attempts());
    assertTrue(ack.lastError().contains("ratelimited"), ack.lastError());
    List<Burn> burns =
        Transactions.withConnection(db.dataSource(), c -> audit.burnsOfRun(c, run.id()));
    assertEquals(1, burns.size());
    assertEquals("delivery", burns.get(0).kind().sql());
    assertTrue(
        burns.get(0).reason().contains("after " + NotifyRuns.MAX_ATTEMPTS + " attempt(s)"),
        burns.get(0).reason());
  }

  @Test
  void aFailureThatIsNotRetryableFailsAtOnceAndOneThatIsSucceedsLater() {
    Recording slack = new Recording();
    slack.failuresLeft.set(1);
    NotifyRuns loop = loop(slack, "gw-1");
    Run once = run(RunSource.SLACK);
    loop.sendDue(10);
    clock.advance(NotifyRuns.FIRST_RETRY.plusMillis(1));
    assertEquals(1, loop.sendDue(10));
    assertEquals("sent", of(once).get(0).status());
    assertEquals(2, of(once).get(0).attempts());
    assertEquals(
        List.of(false, true), slack.maybeSentBefore, "a failed attempt may have reached Slack");

    slack.failuresLeft.set(1);
    slack.retryable = false;
    Run never = run(RunSource.SLACK);
    loop.sendDue(10);
    assertEquals("failed", of(never).get(0).status());
    assertEquals(1, of(never).get(0).attempts());
  }

  @Test
  void aClaimedNotificationIsNotSentByAnotherGatewayUntilTheClaimExpires() {
    Run run = run(RunSource.SLACK);
    List<RunNotifications.Notification> claimed =
        Transactions.inTransaction(
            db.dataSource(), c -> notifications.claim(c, "gw-dead", 10, Duration.ofMinutes(2)));
    assertEquals(1, claimed.size(), "the dead Gateway claimed it and never answered");
    assertFalse(claimed.get(0).maybeSentBefore());
    Recording slack = new Recording();
    NotifyRuns other = loop(slack, "gw-2");
    assertEquals(0, other.sendDue(10));
    clock.advance(Duration.ofMinutes(2).plusSeconds(1));
    assertEquals(1, other.sendDue(10));
    assertEquals(List.of("ack " + run.id()), slack.sent);
    assertEquals(
        List.of(true), slack.maybeSentBefore, "the dead Gateway may have posted it before dying");
    assertTrue(
        !Transactions.inTransaction(
            db.dataSource(),
            c -> notifications.sent(c, run.id(), RunNotifications.Kind.ACK, "gw-dead", null)),
        "the stale claim records nothing");
  }

  @Test
  void withoutANotifierForItsSourceTheNotificationWaitsAndFailsWithAReasonEventually() {
    NotifyRuns loop =
        new NotifyRuns(
            db.dataSource(),
            runs,
            notifications,
            audit,
            List.of(),
            clock,
            new SplittableRandom(7),
            "gw-1");
    Run run = run(RunSource.GITHUB);
    loop.sendDue(10);
    RunNotifications.Notification ack = of(run).get(0);
    assertEquals("pending", ack.status());
    assertTrue(ack.lastError().contains("no github connection"), ack.lastError());
  }

  private List<Gate> deliveryGates(Run run) {
    return Transactions.withConnection(db.dataSource(), c -> audit.gatesOfRun(c, run.id())).stream()
        .filter(g -> g.action().equals(GateAction.DELIVERY_POST))
        .toList();
  }

  @Test
  void everyAttemptToPostIsAnAllowGateCommittedBeforeThePostAndNamingThePlace() {
    Recording slack = new Recording();
    slack.countGates = r -> deliveryGates(r).size();
    slack.failuresLeft.set(1);
    NotifyRuns loop = loop(slack, "gw-1");
    Run run = run(RunSource.SLACK);
    loop.sendDue(10);
    clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    loop.sendDue(10);
    end(run, RunStatus.REJECTED);
    loop.sendDue(10);

    assertEquals(
        List.of(1L, 2L, 3L), slack.gatesAtCall, "each call came after its own gate was committed");
    List<Gate> gates = deliveryGates(run);
    assertEquals(
        3,
        gates.size(),
        "one gate per attempt: two for the acknowledgement (one failed), one for the result");
    for (Gate g : gates) {
      assertEquals(GateStatus.ALLOW, g.status());
      assertEquals(DeliveryPolicy.SUBJECT, g.subject());
      assertEquals(run.id(), g.runId());
      assertEquals(null, g.stepId());
      assertTrue(
          g.reason().contains("to slack channel C1, where the request came from"), g.reason());
    }
    assertTrue(
        gates.get(0).reason().startsWith("the acknowledgement")
            && gates.get(0).reason().contains("attempt 1 of "),
        gates.get(0).reason());
    assertTrue(gates.get(1).reason().contains("attempt 2 of "), gates.get(1).reason());
    assertTrue(gates.get(2).reason().startsWith("the result"), gates.get(2).reason());
  }

  @Test
  void aRunThatRecordsNowhereToAnswerIsADenyGateAndAFailedNotificationWithoutAnyPost() {
    Recording slack = new Recording();
    NotifyRuns loop = loop(slack, "gw-1");
    java.util.UUID manifest = policy();
    Run run =
        Transactions.inTransaction(
            db.dataSource(),
            c ->
                runs.insert(
                    c,
                    new RunStore.NewRun(
                        RunSource.SLACK,
                        "hello",
                        "U1",
                        new ReplyTo.Nowhere(),
                        null,
                        null,
                        "trace",
                        manifest,
                        null),
                    "test"));
    assertEquals(1, loop.sendDue(10));
    assertEquals(List.of(), slack.sent, "nothing posted");
    List<Gate> gates = deliveryGates(run);
    assertEquals(1, gates.size());
    assertEquals(GateStatus.DENY, gates.get(0).status());
    assertTrue(
        gates.get(0).reason().contains("has nowhere to go: no channel"), gates.get(0).reason());
    RunNotifications.Notification ack = of(run).get(0);
    assertEquals("failed", ack.status());
    List<Burn> burns =
        Transactions.withConnection(db.dataSource(), c -> audit.burnsOfRun(c, run.id()));
    assertEquals(1, burns.size());
    assertTrue(burns.get(0).reason().contains("was refused"), burns.get(0).reason());
    clock.advance(NotifyRuns.MAX_RETRY.plusSeconds(1));
    assertEquals(0, loop.sendDue(10), "never tried again");
  }

  @Test
  void answersGoOnlyThroughTheNotifierOfTheRunsOwnSource() {
    RunNotifications.Notification n =
        new RunNotifications.Notification(
            java.util.UUID.randomUUID(),
            RunNotifications.Kind.ACK,
            RunSource.SLACK,
            "pending",
            1,
            null,
            null,
            null,
            null,
            false,
            null);
    Run fromSlack = run(RunSource.SLACK);
    assertTrue(
        DeliveryPolicy.decide(
                fromSlack, n, RunSource.SLACK, new AnswerPlace.At(RunSource.SLACK, "channel C1"), 6)
            instanceof DeliveryPolicy.Decision.Allow);
    assertTrue(
        DeliveryPolicy.decide(
                fromSlack,
                n,
                RunSource.GITHUB,
                new AnswerPlace.At(RunSource.GITHUB, "acme/widgets#1"),
                6)
            instanceof DeliveryPolicy.Decision.Deny);
    assertTrue(
        DeliveryPolicy.decide(
                fromSlack,
                n,
                RunSource.SLACK,
                new AnswerPlace.At(RunSource.GITHUB, "acme/widgets#1"),
                6)
            instanceof DeliveryPolicy.Decision.Deny);
    RunNotifications.Notification result =
        new RunNotifications.Notification(
            n.runId(),
            RunNotifications.Kind.RESULT,
            RunSource.SLACK,
            "pending",
            1,
            null,
            null,
            null,
            null,
            false,
            null);
    assertTrue(
        DeliveryPolicy.decide(
                fromSlack,
                result,
                RunSource.SLACK,
                new AnswerPlace.At(RunSource.SLACK, "channel C1"),
                6)
            instanceof DeliveryPolicy.Decision.Deny,
        "a result before the run ended");
  }

  @Test
  void attemptsCutOffByDyingGatewaysCountAndEndInAFailureWithoutAnotherPost() {
    Run run = run(RunSource.SLACK);
    for (int i = 0; i < NotifyRuns.MAX_ATTEMPTS; i++) {
      Transactions.inTransaction(
          db.dataSource(), c -> notifications.claim(c, "gw-dead", 10, Duration.ofMinutes(2)));
      clock.advance(Duration.ofMinutes(2).plusSeconds(1));
    }
    Recording slack = new Recording();
    assertEquals(1, loop(slack, "gw-2").sendDue(10));
    assertEquals(List.of(), slack.sent, "no attempt beyond the last");
    assertEquals("failed", of(run).get(0).status());
    assertEquals(0, deliveryGates(run).size(), "no gate: nothing was attempted");
    List<Burn> burns =
        Transactions.withConnection(db.dataSource(), c -> audit.burnsOfRun(c, run.id()));
    assertEquals(1, burns.size());
    assertTrue(burns.get(0).reason().contains("ended without an outcome"), burns.get(0).reason());
  }

  @Test
  void notificationKindsKeepTheirStoredNames() {
    assertEquals(
        List.of("ack", "result", "approval", "decision"),
        Arrays.stream(RunNotifications.Kind.values()).map(RunNotifications.Kind::sql).toList());
    for (RunNotifications.Kind kind : RunNotifications.Kind.values()) {
      assertEquals(kind, RunNotifications.Kind.fromSql(kind.sql()));
    }
    java.util.UUID approval = java.util.UUID.randomUUID();
    assertEquals(
        "approval:" + approval,
        RunNotifications.stored(RunNotifications.Kind.APPROVAL, approval),
        "one row per approval request");
    assertEquals(
        "decision:" + approval,
        RunNotifications.stored(RunNotifications.Kind.DECISION, approval),
        "one outcome per approval request");
    assertEquals("ack", RunNotifications.stored(RunNotifications.Kind.ACK, null));
    IllegalStateException kind =
        assertThrows(IllegalStateException.class, () -> RunNotifications.Kind.fromSql("nudge"));
    assertTrue(kind.getMessage().contains("'nudge'"), kind.getMessage());
  }
}
