package dev.worka.gateway.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.UnconfiguredRuntime;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A queued step that cannot start ends without a worker: timed out when its run's deadline passed
 * before it could start, failed when the run's policy does not declare its agent, or names a
 * runtime this Gateway does not have. A step whose worker reaches a resource limit is a {@code
 * resource} burn naming the limit. The runtime here is a stand-in that records what it was asked to
 * start and ends as each test says.
 */
class ExecuteStepTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir static Path home;

  /** What the stand-in runtime was asked to start, and how its worker ends. */
  private final List<WorkerLaunch> launched = new CopyOnWriteArrayList<>();

  private final AttemptOutcome ending =
      new AttemptOutcome.LimitReached(
          "pids", "fork failed: 128 processes", List.of("fork: retry"), Duration.ofMillis(40));

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final StepStore steps = new StepStore(clock);
  private ExecuteStep execute;

  /** An ExecuteStep with these runtimes (the others as in every test). */
  private Function<Map<RuntimeKind, WorkerRuntime>, ExecuteStep> executeWith;

  private UUID runId;

  @BeforeEach
  void setUp() {
    PolicyStore policies = new PolicyStore(db.dataSource(), clock);
    // The built-in policy, but ernest runs as a Kubernetes Job: no such runtime here.
    String source =
        BuiltinPolicy.source()
            .replace(
                "runtime: process\n    command: [bin/worka-agent, ernest]",
                "runtime: kubernetes\n    image: example.org/ernest:1");
    assertNotEquals(BuiltinPolicy.source(), source, "the test's policy must differ");
    policies.activate(source, "test");
    TaskQueue queue = new TaskQueue(db.dataSource(), clock, "test", Duration.ofSeconds(30));
    RunningWorkers workers = new RunningWorkers();
    AuditLog audit = new AuditLog(clock);
    WorkerRuntime process =
        launch -> {
          launched.add(launch);
          return new Finished(ending);
        };
    executeWith =
        runtimes ->
            new ExecuteStep(
                db.dataSource(),
                runs,
                steps,
                policies,
                queue,
                new TokenIssuer(SigningKeys.loadOrCreate(home), "test", clock),
                runtimes,
                workers,
                audit,
                new EndFailedAttempt(runs, steps, policies, queue, audit, clock, new Random(1)),
                Tracing.off(),
                clock,
                () -> "http://127.0.0.1:9", // nobody calls it: the stand-in starts nothing
                Duration.ofSeconds(1));
    execute = executeWith.apply(Map.of(RuntimeKind.PROCESS, process));
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

  @Test
  void aWorkerThatReachesALimitIsAResourceBurnNamingTheLimit() throws Exception {
    UUID stepId = queuedStep("daneel");
    execute.handle(task(stepId));

    WorkerLaunch launch = launched.getFirst();
    assertEquals(RuntimeKind.PROCESS, launch.runtime().kind());
    assertEquals(List.of("bin/worka-agent", "daneel"), launch.command());
    assertEquals(Resources.DEFAULTS, launch.resources(), "the agent's resources go to the runtime");
    // This Gateway exports no span (Tracing.off()): the worker's trace context says not sampled,
    // so the built-in agents send none.
    assertTrue(
        launch.traceparent().matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00"), launch.traceparent());
    Step step = step(stepId);
    assertEquals(StepStatus.FAILED, step.status());
    Map<String, Object> burn = burn(stepId);
    assertEquals("resource", burn.get("kind"));
    assertEquals(
        "agent daneel reached its pids limit: fork failed: 128 processes", burn.get("reason"));
    String diagnostics = (String) burn.get("diagnostics");
    assertTrue(diagnostics.contains("\"limit\": \"pids\""), diagnostics);
    assertTrue(diagnostics.contains("fork: retry"), diagnostics);
  }

  @Test
  void aStepWhoseAgentsRuntimeThisGatewayDoesNotHaveFailsWithoutRetry() throws Exception {
    UUID stepId = queuedStep("ernest");
    execute.handle(task(stepId));

    assertTrue(launched.isEmpty(), "nothing is started: " + launched);
    Step step = step(stepId);
    assertEquals(StepStatus.FAILED, step.status());
    Map<String, Object> burn = burn(stepId);
    assertEquals("dispatch", burn.get("kind"));
    assertTrue(
        ((String) burn.get("reason"))
            .contains("runtime kubernetes is not available on this Gateway (available: [process])"),
        burn.toString());
  }

  @Test
  void aStepWhoseRuntimeIsNotConfiguredFailsWithoutRetrySayingWhatToSet() throws Exception {
    execute =
        executeWith.apply(
            Map.of(
                RuntimeKind.PROCESS,
                launch -> {
                  throw new AssertionError("not a process agent");
                },
                RuntimeKind.KUBERNETES,
                new UnconfiguredRuntime("set WORKA_KUBERNETES_NAMESPACE")));
    UUID stepId = queuedStep("ernest");
    execute.handle(task(stepId));

    Step step = step(stepId);
    assertEquals(StepStatus.FAILED, step.status(), "no other attempt: each would fail the same");
    Map<String, Object> burn = burn(stepId);
    assertEquals("dispatch", burn.get("kind"));
    assertEquals(
        "agent ernest could not be started: runtime kubernetes is not configured on this Gateway:"
            + " set WORKA_KUBERNETES_NAMESPACE",
        burn.get("reason"));
  }

  /** The one burn of {@code stepId}: kind, reason, diagnostics (as JSON text). */
  private static Map<String, Object> burn(UUID stepId) {
    return Transactions.withConnection(
        db.dataSource(),
        c -> {
          try (PreparedStatement q =
              c.prepareStatement(
                  "select kind, reason, diagnostics::text from burns where step_id = ?")) {
            q.setObject(1, stepId);
            try (ResultSet r = q.executeQuery()) {
              assertTrue(r.next(), "a burn for the step");
              Map<String, Object> burn =
                  Map.of(
                      "kind",
                      r.getString(1),
                      "reason",
                      r.getString(2),
                      "diagnostics",
                      r.getString(3));
              assertFalse(r.next(), "only one burn");
              return burn;
            }
          }
        });
  }

  /** A worker that has already ended as {@code outcome}. */
  private record Finished(AttemptOutcome outcome) implements WorkerHandle {
    @Override
    public AttemptOutcome await() {
      return outcome;
    }

    @Override
    public void stop(String reason) {}

    @Override
    public long pid() {
      return -1;
    }
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
