package dev.worka.gateway.control;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.policy.Limits;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.run.Transition;
import dev.worka.gateway.store.Lock;
import dev.worka.protocol.Json;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Ends a failed step attempt on the caller's transaction: either another attempt after a backoff
 * ({@code running → retry_wait}, and a {@link TaskKind#RETRY_STEP} task due then) or the end of the
 * step ({@code running → failed | timed_out}, and an {@link TaskKind#ADVANCE_RUN} task). Either way
 * the attempt's burn is recorded with its diagnostics and attempt number.
 *
 * <p>The rule (docs/reliability.md, "Retries"): another attempt follows when attempts remain
 * ({@code attempt < max_attempts}), the failure is retryable, the Gateway denied nothing during the
 * attempt, the run has not ended, and the next attempt is due before the run's deadline. The wait
 * is exponential backoff with full jitter: a uniform delay in [0, min(retry_backoff_max,
 * retry_backoff·2^(attempt-1))].
 *
 * <p>Retryability is data: a failure says it is not retryable ({@link Failure#notRetryable}, e.g.
 * the worker's result said {@code "retryable": false}, or its agent's runtime is not available); a
 * policy denial during the attempt (any deny gate naming it) is never retried, since the run's
 * policy is pinned and would decide the same again.
 */
public final class EndFailedAttempt {
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final TaskQueue queue;
  private final AuditLog audit;
  private final InstantSource clock;
  private final RandomGenerator random;

  /**
   * @param random draws the jitter; used under its own lock, so any generator will do
   */
  public EndFailedAttempt(
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue,
      AuditLog audit,
      InstantSource clock,
      RandomGenerator random) {
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.queue = queue;
    this.audit = audit;
    this.clock = clock;
    this.random = Objects.requireNonNull(random, "random");
  }

  /**
   * What went wrong in one attempt: the burn's kind and reason (words an operator can act on) and
   * diagnostics, the state the step ends in if it is not retried ({@code failed} or {@code
   * timed_out}), why another attempt cannot help (null when it might), and data written with the
   * move (a worker's output, summary and cleaning record).
   */
  public record Failure(
      BurnKind burnKind,
      StepStatus terminal,
      String reason,
      Map<String, Object> diagnostics,
      String notRetryable,
      StepStore.Change change) {
    public Failure {
      Objects.requireNonNull(burnKind, "burnKind");
      Objects.requireNonNull(reason, "reason");
      if (terminal != StepStatus.FAILED && terminal != StepStatus.TIMED_OUT) {
        throw new IllegalArgumentException("terminal must be failed or timed_out, got " + terminal);
      }
      diagnostics = new LinkedHashMap<>(diagnostics == null ? Map.of() : diagnostics);
      change = change == null ? StepStore.Change.NONE : change;
    }

    /** A failure another attempt may cure. */
    public static Failure of(
        BurnKind burnKind, StepStatus terminal, String reason, Map<String, Object> diagnostics) {
      return new Failure(burnKind, terminal, reason, diagnostics, null, null);
    }

    /** This failure, marked as one another attempt cannot cure, and why. */
    public Failure notRetryable(String because) {
      return new Failure(
          burnKind, terminal, reason, diagnostics, Objects.requireNonNull(because), change);
    }

    /** This failure, with data to write on the step together with the move. */
    public Failure writing(StepStore.Change with) {
      return new Failure(burnKind, terminal, reason, diagnostics, notRetryable, with);
    }
  }

  /** What became of the attempt. */
  public sealed interface Ending {
    /**
     * The step waits in {@code retry_wait}; attempt {@code nextAttempt} is queued at {@code at}.
     */
    record Retrying(int nextAttempt, Duration delay, Instant at) implements Ending {}

    /** The step ended ({@code failed} or {@code timed_out}) with {@code error}. */
    record Ended(StepStatus status, String error) implements Ending {}

    /**
     * The attempt was no longer running (its result came in, or the step was cancelled): nothing
     * changed.
     */
    record LostRace(String actual) implements Ending {}
  }

  /**
   * Ends attempt {@code attempt} of {@code step}, which must still be running on that attempt
   * (compare-and-set); locks the run's row first, as every run-level decision does.
   */
  public Ending end(Connection c, Step step, int attempt, Failure failure, String actor)
      throws SQLException {
    Optional<Run> locked = runs.find(c, step.runId(), Lock.UPDATE);
    if (locked.isEmpty()) {
      return new Ending.LostRace("run missing");
    }
    Run run = locked.get();
    Instant now = clock.instant();
    Limits limits = policies.byId(c, run.policyManifestId()).policy().limits();
    Duration delay = delay(limits, attempt);
    Instant due = now.plus(delay);
    boolean attemptsLeft = attempt < step.maxAttempts();
    String notRetried = failure.notRetryable();
    if (notRetried == null && run.status().terminal()) {
      notRetried = "the run is " + run.status().sql();
    }
    if (notRetried == null && attemptsLeft && audit.deniedDuring(c, step.id(), attempt)) {
      notRetried =
          "the Gateway denied a request of this attempt under the run's policy, which would deny it again";
    }
    if (notRetried == null
        && attemptsLeft
        && run.deadline() != null
        && !due.isBefore(run.deadline())) {
      notRetried = "the run's deadline (" + run.deadline() + ") leaves no time for another attempt";
    }
    Map<String, Object> diagnostics = new LinkedHashMap<>(failure.diagnostics());
    StepStore.Change given = failure.change();

    if (attemptsLeft && notRetried == null) {
      int next = attempt + 1;
      String detail =
          "attempt "
              + attempt
              + " of "
              + step.maxAttempts()
              + " failed ("
              + failure.burnKind().sql()
              + "): "
              + failure.reason()
              + "; attempt "
              + next
              + " in "
              + delay.toMillis()
              + "ms";
      Transition t =
          steps.transition(
              c,
              step.id(),
              StepStatus.RUNNING,
              StepStatus.RETRY_WAIT,
              attempt,
              new StepStore.Change(
                  given.outputJson(),
                  given.summary(),
                  failure.reason(),
                  null,
                  false,
                  given.cleaningJson()),
              actor,
              detail);
      if (!t.applied()) {
        return new Ending.LostRace(t.toString());
      }
      diagnostics.put("next_attempt", next);
      diagnostics.put("retry_delay_ms", delay.toMillis());
      diagnostics.put("retry_at", due.toString());
      audit.recordBurn(
          c,
          step.runId(),
          step.id(),
          step.agent(),
          attempt,
          failure.burnKind(),
          failure.reason(),
          Json.write(diagnostics));
      queue.enqueue(
          c,
          TaskKind.RETRY_STEP.sql(),
          step.runId(),
          step.id(),
          TaskKind.retryKey(step.id(), attempt),
          due);
      return new Ending.Retrying(next, delay, due);
    }

    String error = failure.reason();
    if (notRetried != null && attemptsLeft) {
      error = error + " (not retried: " + notRetried + ")";
      diagnostics.put("not_retried", notRetried);
    }
    Transition t =
        steps.transition(
            c,
            step.id(),
            StepStatus.RUNNING,
            failure.terminal(),
            attempt,
            new StepStore.Change(
                given.outputJson(), given.summary(), error, null, false, given.cleaningJson()),
            actor,
            error);
    if (!t.applied()) {
      return new Ending.LostRace(t.toString());
    }
    audit.recordBurn(
        c,
        step.runId(),
        step.id(),
        step.agent(),
        attempt,
        failure.burnKind(),
        failure.reason(),
        Json.write(diagnostics));
    queue.enqueue(
        c,
        TaskKind.ADVANCE_RUN.sql(),
        step.runId(),
        step.id(),
        TaskKind.advanceKey(step.runId(), step.id(), attempt),
        null);
    return new Ending.Ended(failure.terminal(), error);
  }

  /**
   * The longest wait after attempt {@code attempt}: min(retry_backoff_max,
   * retry_backoff·2^(attempt-1)).
   */
  static Duration ceiling(Limits limits, int attempt) {
    long base = limits.retryBackoff().toMillis();
    long cap = limits.retryBackoffMax().toMillis();
    int doublings = Math.clamp(attempt - 1, 0, 40); // base ≤ 1h < 2^22 ms: no overflow
    return Duration.ofMillis(Math.min(cap, base << doublings));
  }

  /** A uniformly random wait in [0, {@link #ceiling}] (full jitter), in whole milliseconds. */
  Duration delay(Limits limits, int attempt) {
    long ceiling = ceiling(limits, attempt).toMillis();
    double draw;
    synchronized (random) {
      draw = random.nextDouble();
    }
    return Duration.ofMillis(Math.min(ceiling, (long) Math.floor(draw * (ceiling + 1))));
  }
}
