package dev.worka.gateway.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.policy.Limits;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Step retries (docs/reliability.md, "Retries"): a failed attempt is retried after a backoff with
 * full jitter while attempts remain and the failure is retryable; the clock is a {@link
 * SettableClock} the test moves, and the jitter a pinned generator, so the wait is exact and no
 * test sleeps. The "answer" step (Daneel, for any request it does not recognize) runs a {@link
 * RetryWorker}; the planner is the real built-in one.
 */
class RetryTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  private final SettableClock clock = new SettableClock();
  private final PinnedRandom random = new PinnedRandom();
  private final List<TestGateway> gateways = new ArrayList<>();

  @AfterEach
  void stop() {
    gateways.forEach(TestGateway::close);
  }

  /** A generator whose every draw is {@code fraction}: the jitter is fixed by the test. */
  static final class PinnedRandom implements RandomGenerator {
    volatile double fraction = 0.5;

    @Override
    public double nextDouble() {
      return fraction;
    }

    @Override
    public long nextLong() {
      return (long) (fraction * Long.MAX_VALUE);
    }
  }

  private TestGateway start(String daneelBehaviour, String... limits) throws Exception {
    return startWith(policy(daneelBehaviour, limits));
  }

  private TestGateway startWith(String policy) throws Exception {
    TestGateway gw = TestGateway.start(home, db.url(), policy, "dry-run", clock, random);
    gateways.add(gw);
    return gw;
  }

  private static String policy(String daneelBehaviour, String... limits) {
    String policy =
        TestGateway.policyWith(
            daneelBehaviour == null
                ? Map.of()
                : Map.of("daneel", RetryWorker.command(daneelBehaviour)),
            null);
    for (int i = 0; i < limits.length; i += 2) {
      policy = TestGateway.withLimit(policy, limits[i], limits[i + 1]);
    }
    return policy;
  }

  /**
   * Follows the run's events until the {@code nth} time its step {@code ref} moves to {@code to}.
   */
  private static void awaitStep(TestGateway gw, String runId, String ref, String to, int nth) {
    AtomicInteger seen = new AtomicInteger();
    List<JsonNode> events =
        gw.followUntil(
            runId,
            e ->
                ref.equals(e.path("step_ref").asText())
                    && to.equals(e.path("to").asText())
                    && seen.incrementAndGet() == nth);
    if (seen.get() < nth) {
      throw new AssertionError(
          "step " + ref + " never moved to " + to + " (" + nth + "): " + events);
    }
  }

  private static JsonNode step(JsonNode story, String ref) {
    for (JsonNode s : story.path("steps")) {
      if (s.path("step_ref").asText().equals(ref)) {
        return s;
      }
    }
    throw new AssertionError("no step " + ref + " in " + story.path("steps"));
  }

  private static List<JsonNode> burnsOf(JsonNode story, String ref) {
    List<JsonNode> out = new ArrayList<>();
    story
        .path("burns")
        .forEach(
            b -> {
              if (ref.equals(b.path("step_ref").asText())) {
                out.add(b);
              }
            });
    return out;
  }

  private static List<String> transitions(JsonNode story, String ref) {
    List<String> out = new ArrayList<>();
    story
        .path("events")
        .forEach(
            e -> {
              if (ref.equals(e.path("step_ref").asText())) {
                out.add(
                    (e.path("from").isTextual() ? e.path("from").asText() : "")
                        + "→"
                        + e.path("to").asText());
              }
            });
    return out;
  }

  @Test
  void aWorkerThatCrashesOnceSucceedsOnItsSecondAttemptAfterTheBackoffAndNotBefore()
      throws Exception {
    random.fraction =
        0.5; // attempt 1: ceiling min(60s, 1s·2^0) = 1000ms; delay floor(0.5·1001) = 500ms
    TestGateway gw = start("crash-first");
    String runId = gw.submit("tell me a joke");
    awaitStep(gw, runId, "answer", "retry_wait", 1);

    JsonNode waiting = gw.story(runId);
    assertEquals("retry_wait", step(waiting, "answer").path("status").asText());
    assertEquals(1, step(waiting, "answer").path("attempt").asInt());
    JsonNode burn = burnsOf(waiting, "answer").get(0);
    assertEquals("crash", burn.path("kind").asText());
    assertEquals(1, burn.path("attempt").asInt());
    assertEquals(1, burn.path("diagnostics").path("exit_code").asInt());
    assertTrue(
        burn.path("diagnostics")
            .path("last_lines")
            .toString()
            .contains("attempt 1: crashing on purpose"),
        burn.toString());
    assertEquals(500, burn.path("diagnostics").path("retry_delay_ms").asLong(), burn.toString());
    assertEquals(2, burn.path("diagnostics").path("next_attempt").asInt());

    clock.advance(Duration.ofMillis(499));
    gw.gateway.dispatcher().tick();
    assertEquals(
        "retry_wait",
        step(gw.story(runId), "answer").path("status").asText(),
        "not re-queued before its delay has passed");

    clock.advance(Duration.ofMillis(1));
    gw.gateway.dispatcher().tick();
    JsonNode run = gw.finish(runId);

    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode answer = step(run, "answer");
    assertEquals(2, answer.path("attempt").asInt());
    assertEquals(2, answer.path("output").path("attempt").asInt());
    assertTrue(
        answer.path("error").isNull() || answer.path("error").isMissingNode(),
        "a succeeded attempt does not carry the error of the one before: " + answer);
    assertEquals(1, burnsOf(run, "answer").size(), "one burn: the crashed attempt");
    assertEquals(
        List.of(
            "→pending",
            "pending→queued",
            "queued→running",
            "running→retry_wait",
            "retry_wait→queued",
            "queued→running",
            "running→succeeded"),
        transitions(run, "answer"));
  }

  @Test
  void aResultThatSaysItIsNotRetryableEndsTheStepAtOnce() throws Exception {
    TestGateway gw = start("fail-final");
    JsonNode run = gw.finish(gw.submit("tell me a joke"));

    assertEquals("failed", run.path("status").asText());
    JsonNode answer = step(run, "answer");
    assertEquals("failed", answer.path("status").asText());
    assertEquals(1, answer.path("attempt").asInt());
    List<JsonNode> burns = burnsOf(run, "answer");
    assertEquals(1, burns.size());
    assertEquals("failed", burns.get(0).path("kind").asText());
    assertEquals(
        "agent daneel said its failure is not retryable",
        burns.get(0).path("diagnostics").path("not_retried").asText(),
        burns.get(0).toString());
    assertFalse(transitions(run, "answer").contains("running→retry_wait"));
    assertEquals(
        "step answer (daneel) failed: the repository is archived; nothing to retry (not retried: agent"
            + " daneel said its failure is not retryable) — see the burns of run "
            + runId(run),
        run.path("error").asText());
  }

  @Test
  void anAttemptWhoseRequestWasDeniedIsNotRetried() throws Exception {
    TestGateway gw = start("denied-then-crash");
    JsonNode run = gw.finish(gw.submit("tell me a joke"));

    assertEquals("failed", run.path("status").asText());
    JsonNode answer = step(run, "answer");
    assertEquals(1, answer.path("attempt").asInt());
    boolean denied = false;
    for (JsonNode g : run.path("gates")) {
      denied |=
          "deny".equals(g.path("status").asText())
              && "github.create_issue".equals(g.path("skill").asText());
    }
    assertTrue(denied, "the skill call was denied: " + run.path("gates"));
    JsonNode burn = burnsOf(run, "answer").get(0);
    assertEquals("crash", burn.path("kind").asText());
    assertTrue(
        burn.path("diagnostics").path("not_retried").asText().contains("denied"), burn.toString());
  }

  @Test
  void exhaustingTheAttemptsFailsTheRunWithAReasonAPersonCanActOn() throws Exception {
    random.fraction = 0.9999; // the longest waits: 1000ms after attempt 1, 2000ms after attempt 2
    TestGateway gw = start("crash", "max_attempts", "3");
    String runId = gw.submit("tell me a joke");
    for (int attempt = 1; attempt <= 2; attempt++) {
      awaitStep(gw, runId, "answer", "retry_wait", attempt);
      long delay = 1000L << (attempt - 1);
      JsonNode burn = burnsOf(gw.story(runId), "answer").get(attempt - 1);
      assertEquals(
          delay, burn.path("diagnostics").path("retry_delay_ms").asLong(), burn.toString());
      clock.advance(Duration.ofMillis(delay - 1));
      gw.gateway.dispatcher().tick();
      assertEquals("retry_wait", step(gw.story(runId), "answer").path("status").asText());
      clock.advance(Duration.ofMillis(1));
      gw.gateway.dispatcher().tick();
    }
    JsonNode run = gw.finish(runId);

    assertEquals("failed", run.path("status").asText());
    JsonNode answer = step(run, "answer");
    assertEquals("failed", answer.path("status").asText());
    assertEquals(3, answer.path("attempt").asInt());
    assertEquals(
        "step answer (daneel) failed after 3 attempts; last attempt: agent daneel exited with status 1"
            + " without posting a result — see the burns of run "
            + runId,
        run.path("error").asText());
    List<JsonNode> burns = burnsOf(run, "answer");
    assertEquals(3, burns.size());
    for (int i = 0; i < 3; i++) {
      JsonNode b = burns.get(i);
      assertEquals(i + 1, b.path("attempt").asInt());
      assertEquals("crash", b.path("kind").asText());
      assertEquals(1, b.path("diagnostics").path("exit_code").asInt());
      assertTrue(b.path("diagnostics").has("ran_ms"));
      assertTrue(
          b.path("diagnostics")
              .path("last_lines")
              .toString()
              .contains("attempt " + (i + 1) + ": crashing"),
          b.toString());
    }
    assertFalse(
        burns.get(2).path("diagnostics").has("next_attempt"),
        "the last attempt is not followed by another");
  }

  @Test
  void backoffStaysWithinFullJitterBoundsOfItsAttempt() {
    Limits limits =
        new Limits(
            8,
            50,
            200,
            Duration.ofSeconds(120),
            10,
            Duration.ofMinutes(15),
            4,
            Duration.ofMillis(250),
            Duration.ofSeconds(3));
    EndFailedAttempt failures = new EndFailedAttempt(null, null, null, null, null, clock, random);
    long[] ceilings = {250, 500, 1000, 2000, 3000, 3000, 3000, 3000, 3000, 3000};
    for (int attempt = 1; attempt <= ceilings.length; attempt++) {
      long ceiling = ceilings[attempt - 1];
      assertEquals(
          Duration.ofMillis(ceiling),
          EndFailedAttempt.ceiling(limits, attempt),
          "attempt " + attempt);
      random.fraction = 0.0;
      assertEquals(Duration.ZERO, failures.delay(limits, attempt));
      random.fraction = 0.5;
      assertEquals(
          Duration.ofMillis((long) Math.floor(0.5 * (ceiling + 1))),
          failures.delay(limits, attempt));
      random.fraction = Math.nextDown(1.0);
      assertEquals(
          Duration.ofMillis(ceiling),
          failures.delay(limits, attempt),
          "the longest wait is the ceiling");
    }
    RandomGenerator real = new java.util.SplittableRandom(42);
    EndFailedAttempt jittered = new EndFailedAttempt(null, null, null, null, null, clock, real);
    for (int i = 0; i < 10_000; i++) {
      int attempt = 1 + i % 12;
      Duration d = jittered.delay(limits, attempt);
      assertFalse(d.isNegative());
      assertTrue(
          d.compareTo(EndFailedAttempt.ceiling(limits, attempt)) <= 0,
          d + " after attempt " + attempt);
    }
    assertEquals(
        Duration.ofSeconds(60),
        EndFailedAttempt.ceiling(Limits.DEFAULTS, 40),
        "no overflow far out");
  }

  @Test
  void aStepWaitingToRetryIsCancelledWithItsRunAndItsRetryDoesNothing() throws Exception {
    random.fraction = 0.9999;
    TestGateway gw = start("crash");
    String runId = gw.submit("tell me a joke");
    awaitStep(gw, runId, "answer", "retry_wait", 1);

    TestGateway.Answer cancel =
        gw.operator("POST", "/v1/runs/" + runId + "/cancel", "{\"reason\": \"changed my mind\"}");
    assertEquals(200, cancel.status(), cancel.raw().body());
    JsonNode cancelled = gw.finish(runId);
    assertEquals("cancelled", cancelled.path("status").asText());
    assertEquals("cancelled", step(cancelled, "answer").path("status").asText());

    clock.advance(Duration.ofSeconds(2));
    gw.gateway.dispatcher().tick();
    JsonNode after = gw.story(runId);
    assertEquals("cancelled", step(after, "answer").path("status").asText());
    assertEquals(1, step(after, "answer").path("attempt").asInt());
    assertEquals(1, burnsOf(after, "answer").size());
    UUID stepId = UUID.fromString(step(after, "answer").path("step_id").asText());
    assertEquals(
        "done", taskStatus(TaskKind.retryKey(stepId, 1)), "the retry task ran and did nothing");
    assertEquals(null, taskStatus(TaskKind.executeKey(stepId, 2)), "no second attempt was queued");
  }

  @Test
  void anAttemptWhoseGatewayDiedIsRetriedByTheNextGateway() throws Exception {
    random.fraction = 0.5;
    String policy = policy(null);
    // The first Gateway creates the run and queues its planning step; then "it" claims the
    // step's execution and starts attempt 1 — and dies: no worker, no heartbeat, no outcome.
    TestGateway first = TestGateway.startWithoutLoops(home, db.url(), policy, clock);
    String runId = first.submit("tell me a joke");
    first.gateway.dispatcher().tick();
    TaskQueue dead = new TaskQueue(db.dataSource(), clock, "gw-dead", Duration.ofSeconds(10));
    List<Task> claimed = dead.claim(TaskKind.EXECUTION, 1);
    assertEquals(1, claimed.size());
    UUID planner = claimed.get(0).stepId();
    StepStore steps = new StepStore(clock);
    Transactions.inTransaction(
        db.dataSource(),
        c ->
            steps.transition(
                c,
                planner,
                StepStatus.QUEUED,
                StepStatus.RUNNING,
                0,
                new StepStore.Change(null, null, null, clock.instant().plusSeconds(120), true),
                "gateway",
                "attempt 1 on gw-dead"));
    first.close();
    gateways.remove(first);

    TestGateway next = startWith(policy);
    clock.advance(Duration.ofSeconds(11)); // past the dead Gateway's lease
    next.gateway.dispatcher().tick(); // reaps it; the execution loop finds attempt 1 lost
    awaitStep(next, runId, "plan", "retry_wait", 1);
    JsonNode waiting = next.story(runId);
    JsonNode lost = waiting.path("burns").get(0);
    assertEquals("lost", lost.path("kind").asText(), lost.toString());
    assertEquals(1, lost.path("attempt").asInt());
    assertEquals(planner.toString(), lost.path("step_id").asText());

    clock.advance(Duration.ofMillis(500));
    next.gateway.dispatcher().tick();
    JsonNode run = next.finish(runId);
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    Step plan =
        Transactions.withConnection(db.dataSource(), c -> steps.find(c, planner, Lock.NONE))
            .orElseThrow();
    assertEquals(StepStatus.SUCCEEDED, plan.status());
    assertEquals(2, plan.attempt());
  }

  private static String runId(JsonNode story) {
    return story.path("run_id").asText();
  }

  private static String taskStatus(String key) {
    return Transactions.withConnection(
        db.dataSource(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  // A done task's row is deleted; its key stays.
                  "select coalesce(t.status, 'done') from task_keys k left join tasks t on t.id = k.task_id"
                      + " where k.idempotency_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? rs.getString(1) : null;
            }
          }
        });
  }
}
