package dev.worka.gateway.control;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.run.Transition;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.UnconfiguredRuntime;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.SpanIds;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.token.IssuedToken;
import dev.worka.gateway.token.TokenIssuer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one step attempt: queued → running (a new attempt, a deadline, a fresh token), starts the
 * worker in its runtime, keeps the task's lease alive while it runs (and stops it if the step stops
 * being this attempt's, e.g. cancelled), then records what happened if the worker did not post a
 * result: a timeout, a crash, a failure to start, or (found when the task comes back after its
 * lease expired) a lost Gateway — each a burn with diagnostics, and another attempt or the end of
 * the step as {@link EndFailedAttempt} decides. A step that cannot start at all (its agent is not
 * declared, the run's deadline passed) ends at once.
 */
final class ExecuteStep implements TaskHandler {
  private static final Logger log = LoggerFactory.getLogger(ExecuteStep.class);

  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final TaskQueue queue;
  private final TokenIssuer tokens;
  private final Map<RuntimeKind, WorkerRuntime> runtimes;
  private final RunningWorkers workers;
  private final AuditLog audit;
  private final EndFailedAttempt failures;
  private final Tracing tracing;
  private final InstantSource clock;
  private final Supplier<String> gatewayUrl;
  private final Duration watchEvery;

  ExecuteStep(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue,
      TokenIssuer tokens,
      Map<RuntimeKind, WorkerRuntime> runtimes,
      RunningWorkers workers,
      AuditLog audit,
      EndFailedAttempt failures,
      Tracing tracing,
      InstantSource clock,
      Supplier<String> gatewayUrl,
      Duration watchEvery) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.queue = queue;
    this.tokens = tokens;
    this.runtimes = Map.copyOf(runtimes);
    this.workers = workers;
    this.audit = audit;
    this.failures = failures;
    this.tracing = tracing;
    this.clock = clock;
    this.gatewayUrl = gatewayUrl;
    this.watchEvery = watchEvery;
  }

  /** What the start transaction decided. */
  private sealed interface Start {
    record Launch(Run run, Step step, int attempt, Instant deadline, AgentPolicy agent)
        implements Start {}

    record Nothing() implements Start {}
  }

  @Override
  public void handle(Task task) throws Exception {
    Start start =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Optional<Step> found = steps.find(c, task.stepId(), Lock.NONE);
              Optional<Run> run = runs.find(c, task.runId(), Lock.NONE);
              if (found.isEmpty() || run.isEmpty()) {
                return new Start.Nothing();
              }
              Step step = found.get();
              if (step.status() == StepStatus.RUNNING
                  && step.attempt() == TaskKind.attemptOf(task.idempotencyKey())) {
                // A Gateway ran this attempt and lost its lease (it died or stalled).
                String why =
                    "the Gateway running attempt "
                        + step.attempt()
                        + " of agent "
                        + step.agent()
                        + " stopped (its lease expired)";
                failures.end(
                    c,
                    step,
                    step.attempt(),
                    EndFailedAttempt.Failure.of(BurnKind.LOST, StepStatus.FAILED, why, Map.of()),
                    "gateway");
                return new Start.Nothing();
              }
              if (step.status() != StepStatus.QUEUED) {
                return new Start.Nothing();
              }
              if (run.get().status().terminal()) {
                // Moved on meanwhile (cancelled with its run, or started by another claim of
                // this task): not this task's to cancel any more.
                steps
                    .transition(
                        c,
                        step.id(),
                        StepStatus.QUEUED,
                        StepStatus.CANCELLED,
                        null,
                        StepStore.Change.error("run " + run.get().status().sql()),
                        "gateway",
                        null)
                    .acceptLostRace();
                return new Start.Nothing();
              }
              CompiledPolicy policy = policies.byId(c, run.get().policyManifestId()).policy();
              Instant now = clock.instant();
              Instant deadline = now.plus(policy.limits().stepTimeout());
              if (run.get().deadline() != null && run.get().deadline().isBefore(deadline)) {
                deadline = run.get().deadline();
              }
              Optional<AgentPolicy> agent = policy.agent(step.agent());
              if (!deadline.isAfter(now) || agent.isEmpty()) {
                String why =
                    agent.isEmpty()
                        ? "agent " + step.agent() + " is not declared in the run's policy"
                        : "the run's deadline passed before the step could start";
                if (!steps
                    .transition(
                        c,
                        step.id(),
                        StepStatus.QUEUED,
                        agent.isEmpty() ? StepStatus.FAILED : StepStatus.TIMED_OUT,
                        null,
                        StepStore.Change.error(why),
                        "gateway",
                        why)
                    .applied()) {
                  // Moved on meanwhile (cancelled with its run, or started by another claim of
                  // this task): this failure is not its, and neither is a burn.
                  return new Start.Nothing();
                }
                audit.recordBurn(
                    c,
                    step.runId(),
                    step.id(),
                    step.agent(),
                    step.attempt(),
                    agent.isEmpty() ? BurnKind.DISPATCH : BurnKind.TIMEOUT,
                    why,
                    "{}");
                advance(c, step, step.attempt());
                return new Start.Nothing();
              }
              Transition t =
                  steps.transition(
                      c,
                      step.id(),
                      StepStatus.QUEUED,
                      StepStatus.RUNNING,
                      step.attempt(),
                      new StepStore.Change(null, null, null, deadline, true),
                      "gateway",
                      "attempt " + (step.attempt() + 1) + " on " + queue.owner());
              if (!t.applied()) {
                return new Start.Nothing();
              }
              return new Start.Launch(run.get(), step, step.attempt() + 1, deadline, agent.get());
            });
    if (start instanceof Start.Launch launch) {
      run(task, launch);
    }
  }

  private void run(Task task, Start.Launch l) throws Exception {
    // The attempt's span: its id is derived from the step and attempt, so the worker's
    // TRACEPARENT and every span the agent API starts for this attempt name it as their parent.
    Span span =
        tracing.attempt(
            l.run().traceId(),
            l.step().runId(),
            l.step().id(),
            l.attempt(),
            l.step().agent(),
            l.agent().runtime().kind().wireName());
    Instant started = clock.instant();
    try {
      String status = runAttempt(task, l);
      span.setAttribute("worka.step.status", status);
      tracing
          .metrics()
          .attemptEnded(
              l.step().agent(),
              l.agent().runtime().kind().wireName(),
              status,
              Duration.between(started, clock.instant()));
    } catch (Exception | Error e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR);
      throw e;
    } finally {
      span.end();
    }
  }

  /** Runs the attempt; answers the step's status after it. */
  private String runAttempt(Task task, Start.Launch l) throws Exception {
    Step step = l.step();
    AttemptOutcome outcome;
    RuntimeKind runtimeKind = l.agent().runtime().kind();
    WorkerRuntime runtime = runtimes.get(runtimeKind);
    boolean runtimeUnsupported = runtime == null || runtime instanceof UnconfiguredRuntime;
    if (runtime instanceof UnconfiguredRuntime unconfigured) {
      outcome =
          new AttemptOutcome.FailedToStart(
              "runtime "
                  + runtimeKind.wireName()
                  + " is not configured on this Gateway: "
                  + unconfigured.reason());
    } else if (runtimeUnsupported) {
      outcome =
          new AttemptOutcome.FailedToStart(
              "runtime "
                  + runtimeKind.wireName()
                  + " is not available on this Gateway (available: "
                  + runtimes.entrySet().stream()
                      .filter(e -> !(e.getValue() instanceof UnconfiguredRuntime))
                      .map(e -> e.getKey().wireName())
                      .sorted()
                      .toList()
                  + "); change agent "
                  + step.agent()
                  + "'s runtime in the policy, or configure the runtime");
    } else {
      IssuedToken token =
          tokens.mint(step.agent(), step.runId(), step.id(), l.attempt(), l.deadline());
      WorkerLaunch launch =
          new WorkerLaunch(
              step.runId(),
              step.id(),
              l.attempt(),
              step.agent(),
              l.agent().runtime(),
              l.agent().resources(),
              gatewayUrl.get(),
              token.token(),
              traceparent(l.run().traceId(), step.id(), l.attempt(), tracing.exporting()),
              l.deadline());
      WorkerHandle handle = runtime.start(launch);
      workers.started(step.id(), handle);
      tracing.metrics().workerStarted(runtimeKind.wireName());
      Thread watcher =
          Thread.ofVirtual()
              .name("watch-" + step.id())
              .start(() -> watch(task, step, l.attempt(), handle));
      try {
        outcome = handle.await();
      } finally {
        watcher.interrupt();
        workers.ended(step.id());
      }
    }
    AttemptOutcome finalOutcome = outcome;
    String status =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Step now = steps.find(c, step.id(), Lock.NONE).orElseThrow();
              if (now.status() != StepStatus.RUNNING || now.attempt() != l.attempt()) {
                return now.status()
                    .sql(); // the worker posted its result, or the step was cancelled
              }
              Map<String, Object> diagnostics = new LinkedHashMap<>();
              StepStatus to;
              BurnKind kind;
              String why;
              switch (finalOutcome) {
                case AttemptOutcome.Exited e -> {
                  to = StepStatus.FAILED;
                  kind = BurnKind.CRASH;
                  why =
                      "agent "
                          + step.agent()
                          + " exited with status "
                          + e.exitCode()
                          + " without posting a result";
                  diagnostics.put("exit_code", e.exitCode());
                  diagnostics.put("last_lines", storable(e.lastLines()));
                  diagnostics.put("ran_ms", e.ran().toMillis());
                }
                case AttemptOutcome.TimedOut t -> {
                  to = StepStatus.TIMED_OUT;
                  kind = BurnKind.TIMEOUT;
                  why =
                      "agent "
                          + step.agent()
                          + " was still running at its deadline after "
                          + t.ran().toSeconds()
                          + "s; "
                          + switch (runtimeKind) {
                            case PROCESS -> "its process tree was killed";
                            case KUBERNETES -> "its Job was ended";
                            case WASM -> "its module was interrupted";
                          };
                  diagnostics.put("last_lines", storable(t.lastLines()));
                  diagnostics.put("ran_ms", t.ran().toMillis());
                }
                case AttemptOutcome.Stopped s -> {
                  to = StepStatus.FAILED;
                  kind = BurnKind.CRASH;
                  why = "agent " + step.agent() + " was stopped: " + s.reason();
                  diagnostics.put("last_lines", storable(s.lastLines()));
                }
                case AttemptOutcome.LimitReached r -> {
                  to = StepStatus.FAILED;
                  kind = BurnKind.RESOURCE;
                  why =
                      "agent "
                          + step.agent()
                          + " reached its "
                          + r.limit()
                          + " limit: "
                          + r.detail();
                  diagnostics.put("limit", r.limit());
                  diagnostics.put("detail", r.detail());
                  diagnostics.put("last_lines", storable(r.lastLines()));
                  diagnostics.put("ran_ms", r.ran().toMillis());
                }
                case AttemptOutcome.FailedToStart f -> {
                  to = StepStatus.FAILED;
                  kind = BurnKind.DISPATCH;
                  why = "agent " + step.agent() + " could not be started: " + f.reason();
                }
              }
              EndFailedAttempt.Failure failure =
                  EndFailedAttempt.Failure.of(kind, to, why, diagnostics);
              if (runtimeUnsupported) {
                failure =
                    failure.notRetryable(
                        "the runtime is not available; every attempt would fail the same way");
              } else if (finalOutcome instanceof AttemptOutcome.FailedToStart f && !f.retryable()) {
                failure =
                    failure.notRetryable(
                        "the runtime refused the agent as configured; every attempt would fail the"
                            + " same way until the operator fixes it");
              }
              failures.end(c, now, l.attempt(), failure, "gateway");
              tracing.metrics().workerFailed(runtimeKind.wireName(), failureKind(finalOutcome));
              return to.sql();
            });
    queue.wakeUp();
    return status;
  }

  /** The {@code reason} label of a worker's failure (docs/observability.md, "Metrics"). */
  private static String failureKind(AttemptOutcome outcome) {
    return switch (outcome) {
      case AttemptOutcome.Exited e -> "exited";
      case AttemptOutcome.TimedOut t -> "timed_out";
      case AttemptOutcome.Stopped s -> "stopped";
      case AttemptOutcome.LimitReached r -> "limit_reached";
      case AttemptOutcome.FailedToStart f -> "failed_to_start";
    };
  }

  /**
   * While the worker runs: extend the task's lease, and stop the worker once its step attempt is no
   * longer running (cancelled, or the result is in and it lingers) or the lease was lost.
   */
  private void watch(Task task, Step step, int attempt, WorkerHandle handle) {
    Instant resultSeenAt = null;
    while (!Thread.currentThread().isInterrupted()) {
      try {
        Thread.sleep(watchEvery);
        if (!queue.heartbeat(task.id())) {
          handle.stop("this Gateway lost the task's lease");
          return;
        }
        Optional<Step> now =
            Transactions.withConnection(dataSource, c -> steps.find(c, step.id(), Lock.NONE));
        boolean stillOurs =
            now.isPresent()
                && now.get().status() == StepStatus.RUNNING
                && now.get().attempt() == attempt;
        if (!stillOurs) {
          if (now.isPresent() && now.get().status() == StepStatus.CANCELLED) {
            handle.stop("step cancelled");
            return;
          }
          if (now.isPresent() && now.get().status() == StepStatus.AWAITING_APPROVAL) {
            // Nothing is held while a person decides: the step runs again once approved.
            handle.stop("the step waits for approval");
            return;
          }
          if (resultSeenAt == null) {
            resultSeenAt = clock.instant();
          } else if (Duration.between(resultSeenAt, clock.instant())
                  .compareTo(Duration.ofSeconds(10))
              > 0) {
            handle.stop("the step's result was recorded but the worker did not exit");
            return;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        // A transient failure (e.g. the database is briefly unreachable) must not end the watch:
        // the lease would lapse and a healthy step be taken for lost.
        log.warn("watching step {} hit an error, still watching: {}", step.id(), e.getMessage());
      }
    }
  }

  private void advance(java.sql.Connection c, Step step, int attempt) throws java.sql.SQLException {
    queue.enqueue(
        c,
        TaskKind.ADVANCE_RUN.sql(),
        step.runId(),
        step.id(),
        TaskKind.advanceKey(step.runId(), step.id(), attempt),
        null);
  }

  /** Worker output lines as PostgreSQL can store them in jsonb (no NUL). */
  private static List<String> storable(List<String> lines) {
    return lines.stream().map(l -> l.replace("\u0000", "")).toList();
  }

  /**
   * The worker's W3C traceparent: the run's trace, the attempt's span ({@link SpanIds}); sampled
   * only while the Gateway exports spans, so that a worker that honours the flag (the built-in
   * agents do) sends none the Gateway would discard.
   */
  static String traceparent(String traceId, java.util.UUID stepId, int attempt, boolean exporting) {
    if (traceId == null || !traceId.matches("[0-9a-f]{32}")) {
      return null;
    }
    String sampled = SpanIds.traceparent(traceId, SpanIds.attempt(stepId, attempt));
    return exporting ? sampled : sampled.substring(0, sampled.length() - 2) + "00";
  }
}
