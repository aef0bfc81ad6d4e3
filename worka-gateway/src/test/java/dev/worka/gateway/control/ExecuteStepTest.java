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
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A queued step that cannot start ends without a worker: timed out when its run's deadline passed
 * before it could start, failed when the run's policy does not declare its agent. Neither launches
 * anything, so this handler has no runtime, tokens or Gateway URL here.
 */
class ExecuteStepTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final StepStore steps = new StepStore(clock);
  private ExecuteStep execute;
  private UUID runId;

  @BeforeEach
  void setUp() {
    PolicyStore policies = new PolicyStore(db.dataSource(), clock);
    policies.activate(BuiltinPolicy.source(), "test");
    TaskQueue queue = new TaskQueue(db.dataSource(), clock, "test", Duration.ofSeconds(30));
    RunningWorkers workers = new RunningWorkers();
    AuditLog audit = new AuditLog(clock);
    execute =
        new ExecuteStep(
            db.dataSource(),
            runs,
            steps,
            policies,
            queue,
            null, // no tokens: nothing is launched
            null, // no runtime
            workers,
            audit,
            new EndFailedAttempt(runs, steps, policies, queue, audit, clock, new Random(1)),
            clock,
            () -> null, // no Gateway URL
            Duration.ofSeconds(1));
    RunService service =
        new RunService(db.dataSource(), runs, steps, policies, queue, workers, audit, clock);
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

  @Test
  void aQueuedStepWhoseRunsDeadlinePassedTimesOutWithoutStarting() throws Exception {
    UUID stepId = queuedStep("ernest");
    clock.advance(Duration.ofMinutes(15)); // the built-in run_deadline
    execute.handle(task(stepId));
    Step step = step(stepId);
    assertEquals(StepStatus.TIMED_OUT, step.status());
    assertEquals(0, step.attempt(), "no attempt started");
    assertTrue(step.error().contains("deadline passed before the step could start"), step.error());
  }

  @Test
  void aQueuedStepOfAnAgentTheRunsPolicyDoesNotDeclareFails() throws Exception {
    UUID stepId = queuedStep("nobody");
    execute.handle(task(stepId));
    Step step = step(stepId);
    assertEquals(StepStatus.FAILED, step.status());
    assertEquals(0, step.attempt(), "no attempt started");
    assertTrue(
        step.error().contains("agent nobody is not declared in the run's policy"), step.error());
  }

  private UUID queuedStep(String agent) {
    UUID id = UUID.randomUUID();
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          steps.insert(
              c,
              new StepStore.NewStep(
                  id,
                  runId,
                  null,
                  "a",
                  StepRole.WORKER,
                  agent,
                  1,
                  "{\"objective\": \"x\"}",
                  List.of(),
                  List.of(),
                  1),
              "test",
              "trace");
          steps
              .transition(
                  c,
                  id,
                  StepStatus.PENDING,
                  StepStatus.QUEUED,
                  null,
                  StepStore.Change.NONE,
                  "t",
                  null)
              .requireApplied("test setup: step");
          return null;
        });
    return id;
  }

  private Task task(UUID stepId) {
    return new Task(
        UUID.randomUUID(),
        TaskKind.EXECUTE_STEP.sql(),
        runId,
        stepId,
        TaskKind.executeKey(stepId, 1),
        1,
        "test",
        null);
  }

  private Step step(UUID id) {
    return Transactions.withConnection(db.dataSource(), c -> steps.find(c, id, Lock.NONE))
        .orElseThrow();
  }
}
