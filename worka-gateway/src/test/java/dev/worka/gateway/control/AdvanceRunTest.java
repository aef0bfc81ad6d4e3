package dev.worka.gateway.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The run-advancing decisions, one queue task at a time: steps start only when their dependencies
 * succeeded, at most {@code max_concurrent_steps} of a run at once, a failed step fails the run and
 * cancels the rest, and a run whose steps all succeeded is delivered.
 */
class AdvanceRunTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final StepStore steps = new StepStore(clock);
  private PolicyStore policies;
  private TaskQueue queue;
  private AdvanceRun advance;
  private DeliverRun deliver;
  private UUID runId;

  @BeforeEach
  void setUp() {
    policies = new PolicyStore(db.dataSource(), clock);
    policies.activate(
        BuiltinPolicy.source().replaceAll("max_concurrent_steps: *\\d+", "max_concurrent_steps: 2"),
        "test");
    queue = new TaskQueue(db.dataSource(), clock, "test", Duration.ofSeconds(30));
    advance = new AdvanceRun(db.dataSource(), runs, steps, policies, queue, new RunningWorkers());
    deliver = new DeliverRun(db.dataSource(), runs, steps, queue);
    RunService service =
        new RunService(
            db.dataSource(),
            runs,
            steps,
            policies,
            queue,
            new RunningWorkers(),
            new AuditLog(clock),
            clock);
    RunService.Creation created =
        service.create(new RunService.Request(RunSource.API, "t", null, null));
    runId = ((RunService.Creation.Created) created).run().id();
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          runs.transition(c, runId, RunStatus.RECEIVED, RunStatus.PLANNING, "t", null, null, null)
              .requireApplied("test setup: run");
          runs.transition(c, runId, RunStatus.PLANNING, RunStatus.RUNNING, "t", null, null, null)
              .requireApplied("test setup: run");
          return null;
        });
  }

  /** a, b, c independent; d after a and b. */
  private Map<String, UUID> plan() {
    Map<String, UUID> ids =
        Map.of(
            "a",
            UUID.randomUUID(),
            "b",
            UUID.randomUUID(),
            "c",
            UUID.randomUUID(),
            "d",
            UUID.randomUUID());
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          int seq = 1;
          for (String ref : List.of("a", "b", "c", "d")) {
            List<UUID> deps = ref.equals("d") ? List.of(ids.get("a"), ids.get("b")) : List.of();
            steps.insert(
                c,
                new StepStore.NewStep(
                    ids.get(ref),
                    runId,
                    null,
                    ref,
                    StepRole.WORKER,
                    "ernest",
                    seq++,
                    "{\"objective\": \"x\"}",
                    List.of(),
                    deps,
                    1),
                "test",
                "trace");
          }
          return null;
        });
    return ids;
  }

  private void tick() {
    advance.handle(
        new Task(UUID.randomUUID(), TaskKind.ADVANCE_RUN.sql(), runId, null, "k", 1, "test", null));
  }

  private Map<String, StepStatus> statuses() {
    return Transactions.withConnection(db.dataSource(), c -> steps.ofRun(c, runId)).stream()
        .collect(Collectors.toMap(Step::stepRef, Step::status));
  }

  private void finish(UUID step, StepStatus to) {
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          steps
              .transition(
                  c,
                  step,
                  StepStatus.QUEUED,
                  StepStatus.RUNNING,
                  0,
                  new StepStore.Change(null, null, null, null, true),
                  "t",
                  null)
              .requireApplied("test setup: step");
          steps
              .transition(
                  c,
                  step,
                  StepStatus.RUNNING,
                  to,
                  1,
                  new StepStore.Change("{}", "done " + step, null, null, false),
                  "t",
                  null)
              .requireApplied("test setup: step");
          return null;
        });
  }

  private Set<UUID> queuedExecutions() {
    return queue.claim(List.of(TaskKind.EXECUTE_STEP.sql()), 100).stream()
        .map(Task::stepId)
        .collect(Collectors.toSet());
  }

  @Test
  void readyStepsStartUpToTheConcurrencyLimitAndDependentsWaitForTheirDependencies() {
    Map<String, UUID> ids = plan();
    tick();
    assertEquals(
        Map.of(
            "a",
            StepStatus.QUEUED,
            "b",
            StepStatus.QUEUED,
            "c",
            StepStatus.PENDING,
            "d",
            StepStatus.PENDING),
        statuses());
    assertEquals(Set.of(ids.get("a"), ids.get("b")), queuedExecutions());

    finish(ids.get("a"), StepStatus.SUCCEEDED);
    tick();
    assertEquals(StepStatus.QUEUED, statuses().get("c"), "a slot freed: c starts");
    assertEquals(StepStatus.PENDING, statuses().get("d"), "d still waits for b");

    finish(ids.get("b"), StepStatus.SUCCEEDED);
    tick();
    assertEquals(StepStatus.QUEUED, statuses().get("d"));
    finish(ids.get("c"), StepStatus.SUCCEEDED);
    finish(ids.get("d"), StepStatus.SUCCEEDED);
    tick();
    assertEquals(RunStatus.DELIVERING, run().status());

    deliver.handle(
        new Task(UUID.randomUUID(), TaskKind.DELIVER_RUN.sql(), runId, null, "k", 1, "test", null));
    Run done = run();
    assertEquals(RunStatus.SUCCEEDED, done.status());
    assertTrue(
        done.resultJson().contains("done " + ids.get("c")),
        "c and d are the final steps: " + done.resultJson());
    assertTrue(done.resultJson().contains("done " + ids.get("d")));
    assertTrue(!done.resultJson().contains("done " + ids.get("a")), "a is not a final step");
  }

  @Test
  void aFailedStepFailsTheRunAndCancelsTheRest() {
    Map<String, UUID> ids = plan();
    tick();
    finish(ids.get("a"), StepStatus.FAILED);
    tick();
    Map<String, StepStatus> s = statuses();
    assertEquals(StepStatus.FAILED, s.get("a"));
    assertEquals(StepStatus.CANCELLED, s.get("b"));
    assertEquals(StepStatus.CANCELLED, s.get("c"));
    assertEquals(StepStatus.CANCELLED, s.get("d"));
    assertEquals(RunStatus.FAILED, run().status());
    assertTrue(run().error().contains("step a (ernest) failed"), run().error());
    tick();
    assertEquals(RunStatus.FAILED, run().status(), "advancing an ended run changes nothing");
  }

  @Test
  void aRunStillOpenPastItsDeadlineIsFailedAndItsStepsCancelled() {
    Map<String, UUID> ids = plan();
    tick();
    RunningWorkers workers = new RunningWorkers();
    EnforceRunDeadlines sweeper =
        new EnforceRunDeadlines(
            db.dataSource(),
            runs,
            steps,
            new AuditLog(clock),
            workers,
            clock,
            Duration.ofSeconds(30));
    assertEquals(0, sweeper.sweep(), "not overdue yet");
    clock.advance(Duration.ofMinutes(15)); // the built-in run_deadline
    assertEquals(0, sweeper.sweep(), "within the grace");
    clock.advance(Duration.ofSeconds(31));
    assertEquals(1, sweeper.sweep());
    assertEquals(RunStatus.FAILED, run().status());
    assertTrue(run().error().contains("deadline"), run().error());
    assertTrue(
        statuses().values().stream().allMatch(st -> st == StepStatus.CANCELLED),
        statuses().toString());
    assertEquals(0, sweeper.sweep(), "an ended run is not swept twice");
    assertEquals(ids.size(), statuses().size());
  }

  private Run run() {
    return Transactions.withConnection(db.dataSource(), c -> runs.find(c, runId, Lock.NONE))
        .orElseThrow();
  }
}
