package dev.worka.gateway.control;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.memory.RememberRun;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.queue.ClaimLoop;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.token.TokenIssuer;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This Gateway's task loops ({@link ClaimLoop}s): one claims control tasks (start, advance,
 * deliver, requeue a step whose retry backoff is over — short database work) and runs up to {@link
 * #CONTROL_CONCURRENCY} of them at once, claiming up to {@link #CONTROL_PREFETCH} ahead; one claims
 * step executions up to {@code maxConcurrentSteps} at a time (each waits for a worker; none ahead);
 * and one reaps expired leases. Tasks of one run may run at once (here as on several Gateways):
 * their handlers serialize on the run's and steps' rows and compare-and-set. A task whose handler
 * throws is retried with exponential backoff and full jitter. {@link #tick()} runs one round by
 * hand (tests).
 */
public final class Dispatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
  private static final int MAX_TASK_ATTEMPTS = 10;

  /** Control tasks one Gateway runs at once (each is a few short transactions). */
  public static final int CONTROL_CONCURRENCY = 16;

  /**
   * Control tasks one Gateway claims ahead of a free slot, so that its next claim overlaps with the
   * running ones (see {@link ClaimLoop}). Step executions are never claimed ahead.
   */
  public static final int CONTROL_PREFETCH = 64;

  /**
   * The threads control tasks run on: virtual. (Platform threads made the queue alone faster while
   * each task waited for its completion — a blocking JDBC round trip costs less on one — but with
   * completions written in the background {@code QueueThroughput} measures the same on both, and
   * {@code GovernedRunLoad} showed no difference beyond its noise.)
   */
  public static final java.util.concurrent.ThreadFactory CONTROL_THREADS =
      Thread.ofVirtual().name("worka-control-", 1).factory();

  private final TaskQueue queue;
  private final InstantSource clock;
  private final EnumMap<TaskKind, TaskHandler> handlers;
  private final DataSource dataSource;
  private final RunningWorkers workers;
  private final Duration lease;
  private final EnforceRunDeadlines deadlines;
  private volatile boolean running;
  private final int maxConcurrentSteps;
  private ClaimLoop controlLoop;
  private ClaimLoop executionLoop;
  private Thread reaperLoop;

  public Dispatcher(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue,
      TokenIssuer tokens,
      Map<RuntimeKind, WorkerRuntime> runtimes,
      RunningWorkers workers,
      AuditLog audit,
      RememberRun remember,
      Tracing tracing,
      InstantSource clock,
      Supplier<String> gatewayUrl,
      int maxConcurrentSteps,
      Duration lease,
      RandomGenerator random) {
    this.dataSource = dataSource;
    this.queue = queue;
    this.clock = clock;
    this.workers = workers;
    this.lease = lease;
    this.maxConcurrentSteps = maxConcurrentSteps;
    this.deadlines = new EnforceRunDeadlines(dataSource, runs, steps, audit, workers, clock, lease);
    Duration watchEvery =
        lease.dividedBy(3).compareTo(Duration.ofSeconds(1)) < 0
            ? lease.dividedBy(3)
            : Duration.ofSeconds(1);
    EndFailedAttempt endFailed =
        new EndFailedAttempt(runs, steps, policies, queue, audit, clock, random);
    // Every kind has its handler: a new constant fails compilation here until it is handled.
    this.handlers = new EnumMap<>(TaskKind.class);
    for (TaskKind kind : TaskKind.values()) {
      TaskHandler handler =
          switch (kind) {
            case START_RUN -> new StartRun(dataSource, runs, steps, policies, queue);
            case EXECUTE_STEP ->
                new ExecuteStep(
                    dataSource,
                    runs,
                    steps,
                    policies,
                    queue,
                    tokens,
                    runtimes,
                    workers,
                    audit,
                    endFailed,
                    tracing,
                    clock,
                    gatewayUrl,
                    watchEvery);
            case ADVANCE_RUN -> new AdvanceRun(dataSource, runs, steps, policies, queue, workers);
            case DELIVER_RUN -> new DeliverRun(dataSource, runs, steps, queue);
            case RETRY_STEP -> new RequeueStep(dataSource, runs, steps, queue);
            case REMEMBER_RUN -> new RememberRunTask(remember);
          };
      handlers.put(kind, handler);
    }
  }

  public synchronized void start() {
    if (running) {
      return;
    }
    running = true;
    controlLoop =
        new ClaimLoop(
                "worka-control",
                queue,
                TaskKind.CONTROL,
                CONTROL_CONCURRENCY,
                CONTROL_PREFETCH,
                clock,
                lease,
                CONTROL_THREADS,
                this::runClaimed)
            .start();
    executionLoop =
        new ClaimLoop(
                "worka-execution",
                queue,
                TaskKind.EXECUTION,
                maxConcurrentSteps,
                0,
                clock,
                lease,
                Thread.ofVirtual().name("worka-step-", 1).factory(),
                this::runClaimed)
            .start();
    reaperLoop = Thread.ofPlatform().name("worka-reaper").daemon().start(this::reaperLoop);
  }

  /**
   * One round by hand: reap, end overdue runs, then run every claimable control task (not
   * executions).
   */
  int tick() {
    queue.reapExpired();
    deadlines.sweep();
    int n = 0;
    for (Task t : queue.claim(TaskKind.CONTROL, 100)) {
      // By hand, each completion is durable before the next task (as tests expect).
      run(t).exceptionally(e -> null).join();
      n++;
    }
    return n;
  }

  private void reaperLoop() {
    while (running) {
      try {
        Thread.sleep(lease.dividedBy(2));
        int reaped = queue.reapExpired();
        if (reaped > 0) {
          log.info("reclaimed {} task(s) whose lease expired", reaped);
          queue.wakeUp();
        }
        int overdue = deadlines.sweep();
        if (overdue > 0) {
          log.warn("failed {} run(s) still open past their deadline", overdue);
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        pauseAfter(e);
      }
    }
  }

  /**
   * Runs a task a claim loop took; the loop takes the next one while the completion is written (its
   * failure is logged by {@link #run}, so its future holds nothing more to wait for).
   */
  private void runClaimed(Task task) {
    var unused = run(task);
  }

  /** The trace id of the task's run, for its log lines (null when it cannot be read). */
  private String traceId(Task task) {
    if (task.runId() == null) {
      return null;
    }
    try {
      return Transactions.withConnection(
          dataSource,
          c ->
              Sql.one(
                      c,
                      "select trace_id from runs where id = ?",
                      rs -> rs.getString(1),
                      task.runId())
                  .orElse(null));
    } catch (RuntimeException e) {
      return null; // the handler meets the same failure and reports it
    }
  }

  /**
   * Runs a task's handler; the answer is its completion's (already there if the handler failed).
   */
  private CompletableFuture<?> run(Task task) {
    Tracing.LogScope logs = Tracing.logScope(traceId(task), task.runId());
    try {
      return handle(task);
    } finally {
      logs.close();
    }
  }

  private CompletableFuture<?> handle(Task task) {
    try {
      handlers.get(TaskKind.fromSql(task.kind())).handle(task);
    } catch (Exception e) {
      boolean giveUp = task.attempts() >= MAX_TASK_ATTEMPTS;
      Instant retryAt = giveUp ? null : clock.instant().plus(backoff(task.attempts()));
      log.warn(
          "task {} {} (run {}, step {}) failed on attempt {}{}: {}",
          task.kind(),
          task.id(),
          task.runId(),
          task.stepId(),
          task.attempts(),
          giveUp ? ", giving up" : ", will retry",
          e.toString());
      try {
        queue.release(task.id(), e.toString(), retryAt);
      } catch (RuntimeException releaseFailed) {
        log.warn(
            "could not release task {} (its lease will expire): {}",
            task.id(),
            releaseFailed.getMessage());
      }
      return CompletableFuture.completedFuture(null);
    }
    // The handler's work is committed; the completion is written together with others' while this
    // thread takes the next task. Lost to a crash, it only makes the (idempotent) handler run
    // again.
    return queue
        .completeLater(task.id())
        .whenComplete(
            (done, failure) -> {
              if (failure != null) {
                log.warn(
                    "could not complete task {} {} (it runs again once its lease expires): {}",
                    task.kind(),
                    task.id(),
                    failure.toString());
              } else if (!done) {
                log.info(
                    "task {} {} was done, but its lease had passed to another claimer",
                    task.kind(),
                    task.id());
              }
            });
  }

  /** Exponential backoff with full jitter: a random delay in [0, min(60s, 250ms·2^attempt)). */
  static Duration backoff(int attempt) {
    long cap = Math.min(60_000L, 250L << Math.min(attempt, 16));
    return Duration.ofMillis(ThreadLocalRandom.current().nextLong(Math.max(1, cap)));
  }

  private void pauseAfter(RuntimeException e) {
    log.warn("task loop error (retrying in 1s): {}", e.toString());
    try {
      Thread.sleep(1_000);
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    running = false;
    for (ClaimLoop loop : new ClaimLoop[] {controlLoop, executionLoop}) {
      if (loop != null) {
        loop.close();
      }
    }
    if (reaperLoop != null) {
      reaperLoop.interrupt();
    }
    workers.stopAll("the Gateway is shutting down");
    try {
      if (reaperLoop != null) {
        reaperLoop.join(5_000);
      }
      // Control tasks under way finish their (short) transactions before the pool closes.
      if (controlLoop != null && !controlLoop.awaitIdle(Duration.ofSeconds(10))) {
        log.warn(
            "control tasks still running at shutdown; their leases expire and another Gateway takes them");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
