package dev.worka.gateway.control;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.token.TokenIssuer;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This Gateway's task loops: one claims control tasks (start, advance, deliver, requeue a step
 * whose retry backoff is over — short database work) and runs up to {@link #CONTROL_CONCURRENCY}
 * of them at once, one claims step executions up to {@code maxConcurrentSteps} at a time (each
 * waits for a worker), and one reaps expired leases. Tasks of one run may run at once (here as on
 * several Gateways): their handlers serialize on the run's and steps' rows and compare-and-set. A task whose handler throws is retried with exponential
 * backoff and full jitter. {@link #tick()} runs one round by hand (tests).
 */
public final class Dispatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
  private static final int MAX_TASK_ATTEMPTS = 10;
  /** Control tasks one Gateway runs at once (each is a few short transactions). */
  static final int CONTROL_CONCURRENCY = 16;

  private final TaskQueue queue;
  private final InstantSource clock;
  private final Map<String, TaskHandler> handlers;
  private final Semaphore executionSlots;
  private final Semaphore controlSlots = new Semaphore(CONTROL_CONCURRENCY);
  private final RunningWorkers workers;
  private final Duration lease;
  private final EnforceRunDeadlines deadlines;
  private volatile boolean running;
  private Thread controlLoop;
  private Thread executionLoop;
  private Thread reaperLoop;

  public Dispatcher(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue,
      TokenIssuer tokens,
      WorkerRuntime runtime,
      RunningWorkers workers,
      AuditLog audit,
      InstantSource clock,
      Supplier<String> gatewayUrl,
      int maxConcurrentSteps,
      Duration lease,
      RandomGenerator random) {
    this.queue = queue;
    this.clock = clock;
    this.workers = workers;
    this.lease = lease;
    this.executionSlots = new Semaphore(maxConcurrentSteps);
    this.deadlines = new EnforceRunDeadlines(dataSource, runs, steps, audit, workers, clock, lease);
    Duration watchEvery = lease.dividedBy(3).compareTo(Duration.ofSeconds(1)) < 0 ? lease.dividedBy(3) : Duration.ofSeconds(1);
    this.handlers =
        Map.of(
            TaskKinds.START_RUN, new StartRun(dataSource, runs, steps, policies, queue),
            TaskKinds.EXECUTE_STEP,
                new ExecuteStep(dataSource, runs, steps, policies, queue, tokens, runtime, workers,
                    audit, new EndFailedAttempt(runs, steps, policies, queue, audit, clock, random),
                    clock, gatewayUrl, watchEvery),
            TaskKinds.ADVANCE_RUN, new AdvanceRun(dataSource, runs, steps, policies, queue, workers),
            TaskKinds.DELIVER_RUN, new DeliverRun(dataSource, runs, steps, queue),
            TaskKinds.RETRY_STEP, new RequeueStep(dataSource, runs, steps, queue));
  }

  public synchronized void start() {
    if (running) {
      return;
    }
    running = true;
    controlLoop = Thread.ofPlatform().name("worka-control").daemon().start(this::controlLoop);
    executionLoop = Thread.ofPlatform().name("worka-execution").daemon().start(this::executionLoop);
    reaperLoop = Thread.ofPlatform().name("worka-reaper").daemon().start(this::reaperLoop);
  }

  /** One round by hand: reap, end overdue runs, then run every claimable control task (not executions). */
  public int tick() {
    queue.reapExpired();
    deadlines.sweep();
    int n = 0;
    for (Task t : queue.claim(TaskKinds.CONTROL, 100)) {
      run(t);
      n++;
    }
    return n;
  }

  private void controlLoop() {
    claimLoop(TaskKinds.CONTROL, controlSlots);
  }

  private void executionLoop() {
    claimLoop(TaskKinds.EXECUTION, executionSlots);
  }

  /**
   * Claims tasks of {@code kinds} while {@code slots} has permits, one permit per task, and runs
   * each on a virtual thread that gives its permit back; waits for a wake-up when none is due.
   */
  private void claimLoop(List<String> kinds, Semaphore slots) {
    while (running) {
      try {
        long seen = queue.wakeups();
        slots.acquire();
        List<Task> tasks;
        try {
          tasks = queue.claim(kinds, 1 + slots.availablePermits());
        } catch (RuntimeException e) {
          slots.release();
          throw e;
        }
        if (tasks.isEmpty()) {
          slots.release();
          queue.awaitWork(seen, Duration.ofMillis(500));
          continue;
        }
        // One permit is held; take one more for each further task (they are available).
        for (int i = 1; i < tasks.size(); i++) {
          slots.acquire();
        }
        for (Task t : tasks) {
          Thread.ofVirtual().name("task-" + t.kind() + "-" + t.id()).start(() -> {
            try {
              run(t);
            } finally {
              slots.release();
            }
          });
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        pauseAfter(e);
      }
    }
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

  private void run(Task task) {
    try {
      handlers.get(task.kind()).handle(task);
      queue.complete(task.id());
    } catch (Exception e) {
      boolean giveUp = task.attempts() >= MAX_TASK_ATTEMPTS;
      Instant retryAt = giveUp ? null : clock.instant().plus(backoff(task.attempts()));
      log.warn("task {} {} (run {}, step {}) failed on attempt {}{}: {}", task.kind(), task.id(),
          task.runId(), task.stepId(), task.attempts(), giveUp ? ", giving up" : ", will retry", e.toString());
      try {
        queue.release(task.id(), e.toString(), retryAt);
      } catch (RuntimeException releaseFailed) {
        log.warn("could not release task {} (its lease will expire): {}", task.id(), releaseFailed.getMessage());
      }
    }
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
    for (Thread t : new Thread[] {controlLoop, executionLoop, reaperLoop}) {
      if (t != null) {
        t.interrupt();
      }
    }
    workers.stopAll("the Gateway is shutting down");
    for (Thread t : new Thread[] {controlLoop, executionLoop, reaperLoop}) {
      if (t != null) {
        try {
          t.join(5_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    // Control tasks under way finish their (short) transactions before the pool closes.
    try {
      if (!controlSlots.tryAcquire(CONTROL_CONCURRENCY, 10, java.util.concurrent.TimeUnit.SECONDS)) {
        log.warn("control tasks still running at shutdown; their leases expire and another Gateway takes them");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
