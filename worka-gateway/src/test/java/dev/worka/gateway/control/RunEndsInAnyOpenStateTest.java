package dev.worka.gateway.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A run that has not ended can be ended in any open state (DESIGN §4: any non-terminal → failed |
 * cancelled), also before it started and while its answer is being delivered: past its deadline the
 * sweep fails it, an operator's cancel cancels it. (Other tests end runs that are planning or
 * running.)
 */
class RunEndsInAnyOpenStateTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final StepStore steps = new StepStore(clock);
  private RunService service;
  private EnforceRunDeadlines sweeper;
  private UUID runId;

  @BeforeEach
  void setUp() {
    PolicyStore policies = new PolicyStore(db.dataSource(), clock);
    policies.activate(BuiltinPolicy.source(), "test");
    TaskQueue queue = new TaskQueue(db.dataSource(), clock, "test", Duration.ofSeconds(30));
    RunningWorkers workers = new RunningWorkers();
    AuditLog audit = new AuditLog(clock);
    service = new RunService(db.dataSource(), runs, steps, policies, queue, workers, audit, clock);
    sweeper =
        new EnforceRunDeadlines(
            db.dataSource(), runs, steps, audit, workers, clock, Duration.ofSeconds(30));
    RunService.Creation created =
        service.create(new RunService.Request(RunSource.API, "t", null, null));
    runId = ((RunService.Creation.Created) created).run().id();
  }

  @Test
  void aRunNeverStartedIsFailedPastItsDeadline() {
    assertEquals(RunStatus.RECEIVED, run().status());
    clock.advance(Duration.ofMinutes(15).plusSeconds(31)); // run_deadline, then the grace
    assertEquals(1, sweeper.sweep());
    assertEquals(RunStatus.FAILED, run().status());
    assertTrue(run().error().contains("while it was received"), run().error());
  }

  @Test
  void aRunStillBeingDeliveredIsFailedPastItsDeadline() {
    toDelivering();
    clock.advance(Duration.ofMinutes(15).plusSeconds(31));
    assertEquals(1, sweeper.sweep());
    assertEquals(RunStatus.FAILED, run().status());
    assertTrue(run().error().contains("while it was delivering"), run().error());
  }

  @Test
  void aRunBeingDeliveredIsCancelledByAnOperator() {
    toDelivering();
    RunService.Cancellation.Cancelled cancelled =
        assertInstanceOf(
            RunService.Cancellation.Cancelled.class, service.cancel(runId, "operator", "enough"));
    assertEquals(RunStatus.CANCELLED, cancelled.run().status());
    assertEquals("cancelled by operator: enough", run().error());
  }

  /** As if every step had succeeded (AdvanceRunTest covers how a run gets there). */
  private void toDelivering() {
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          runs.transition(c, runId, RunStatus.RECEIVED, RunStatus.PLANNING, "t", null, null, null)
              .requireApplied("test setup: run");
          runs.transition(c, runId, RunStatus.PLANNING, RunStatus.RUNNING, "t", null, null, null)
              .requireApplied("test setup: run");
          runs.transition(c, runId, RunStatus.RUNNING, RunStatus.DELIVERING, "t", null, null, null)
              .requireApplied("test setup: run");
          return null;
        });
  }

  private Run run() {
    return Transactions.withConnection(db.dataSource(), c -> runs.find(c, runId, Lock.NONE))
        .orElseThrow();
  }
}
