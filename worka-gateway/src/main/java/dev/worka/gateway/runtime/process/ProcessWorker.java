package dev.worka.gateway.runtime.process;

import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The handle of one running worker process: waits for it, kills its tree, cleans up after it. */
final class ProcessWorker implements WorkerHandle {
  private static final Logger log = LoggerFactory.getLogger(ProcessWorker.class);

  /** How long to wait for the output reader after the process tree is gone. */
  private static final Duration OUTPUT_WAIT = Duration.ofSeconds(2);

  private final WorkerLaunch launch;
  private final Process process;
  private final ProcessTree tree;
  private final WorkDirectory directory;
  private final OutputTail tail;
  private final Thread reader;
  private final InstantSource clock;
  private final Instant started;
  private final AtomicReference<String> stopReason = new AtomicReference<>();
  private final ReentrantLock awaiting = new ReentrantLock();
  private volatile AttemptOutcome outcome;
  private final Runnable ended;

  /** The worker's cgroup, or null where the host has none ({@link WorkerLimits}). */
  private final AttemptCgroup cgroup;

  /** The limit the worker hit while it ran, seen by {@link #watchLimits()}. */
  private final AtomicReference<AttemptCgroup.Hit> limitHit = new AtomicReference<>();

  private final java.util.concurrent.ScheduledFuture<?> watch;

  /** Checks every running worker's cgroup counters; one daemon thread for all of them. */
  private static final java.util.concurrent.ScheduledExecutorService WATCHER =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          task -> Thread.ofPlatform().daemon().name("worka-worker-limits").unstarted(task));

  /** How often a running worker's cgroup is checked for a limit it hit. */
  static final Duration WATCH_INTERVAL = Duration.ofMillis(100);

  ProcessWorker(
      WorkerLaunch launch,
      Process process,
      boolean ownSession,
      WorkDirectory directory,
      InstantSource clock,
      Instant started,
      Runnable ended,
      AttemptCgroup cgroup) {
    this.ended = ended;
    this.cgroup = cgroup;
    this.launch = launch;
    this.process = process;
    this.tree = new ProcessTree(process, ownSession);
    this.directory = directory;
    this.clock = clock;
    this.started = started;
    this.tail = new OutputTail(launch.token());
    // The run's log ids (run_id, trace_id) of the thread that starts the worker, on its output's
    // lines too.
    java.util.Map<String, String> logIds = org.slf4j.MDC.getCopyOfContextMap();
    this.reader =
        Thread.ofPlatform()
            .daemon()
            .name("worka-worker-output-" + process.pid())
            .start(
                () -> {
                  if (logIds != null) {
                    org.slf4j.MDC.setContextMap(logIds);
                  }
                  readOutput(process.getInputStream());
                });
    this.watch =
        cgroup == null
            ? null
            : WATCHER.scheduleWithFixedDelay(
                this::watchLimits,
                WATCH_INTERVAL.toMillis(),
                WATCH_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
  }

  /**
   * Stops the worker as soon as its cgroup shows a limit it hit: a fork bomb would otherwise spin
   * at its pids limit until the deadline, and a process the OOM killer chose may not be the one
   * that keeps the worker alive.
   */
  private void watchLimits() {
    if (outcome != null || limitHit.get() != null || stopReason.get() != null) {
      return;
    }
    cgroup.hit().ifPresent(this::reached);
  }

  /**
   * Stops the worker because it reached a limit (seen in its cgroup, or by its relay to the
   * Gateway); {@link #await()} then returns {@link AttemptOutcome.LimitReached}. A no-op once it
   * ended, was stopped, or reached another limit first.
   */
  void reached(AttemptCgroup.Hit hit) {
    if (outcome != null || stopReason.get() != null || !limitHit.compareAndSet(null, hit)) {
      return;
    }
    log.info(
        "stopping worker pid {} (run {} step {} attempt {}): it reached its {} limit: {}",
        process.pid(),
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        hit.limit(),
        hit.detail());
    if (cgroup != null) {
      cgroup.killAll(); // the worker's root process too: runToEnd sees it exit
    } else {
      tree.kill();
    }
  }

  @Override
  public long pid() {
    return process.pid();
  }

  @Override
  public void stop(String reason) {
    Objects.requireNonNull(reason, "reason");
    if (outcome != null || !stopReason.compareAndSet(null, reason)) {
      return;
    }
    log.info(
        "stopping worker pid {} (run {} step {} attempt {}): {}",
        process.pid(),
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        reason);
    tree.kill();
  }

  @Override
  public AttemptOutcome await() {
    awaiting.lock();
    try {
      if (outcome == null) {
        outcome = runToEnd();
      }
      return outcome;
    } finally {
      awaiting.unlock();
    }
  }

  private AttemptOutcome runToEnd() {
    boolean exited = false;
    boolean interrupted = false;
    try {
      Duration left = Duration.between(clock.instant(), launch.deadline());
      if (left.isPositive()) {
        exited = process.waitFor(left.toNanos(), TimeUnit.NANOSECONDS);
      } else {
        exited = !process.isAlive();
      }
    } catch (InterruptedException e) {
      interrupted = true;
      stopReason.compareAndSet(null, "interrupted while waiting for the worker");
    }
    Integer exitCode = exited ? process.exitValue() : null;
    // In every outcome: nothing the worker started outlives it (leftovers of a clean exit too).
    int leftovers = tree.kill();
    if (cgroup != null) {
      if (watch != null) {
        watch.cancel(false);
      }
      leftovers += cgroup.killAll(); // double-forked, re-parented: whatever is still in it
      cgroup.hit().ifPresent(seen -> limitHit.compareAndSet(null, seen));
      cgroup.remove();
    }
    AttemptCgroup.Hit hit = limitHit.get();
    String stopped = stopReason.get();
    joinReader();
    Duration ran = Duration.between(started, clock.instant());
    if (ran.isNegative()) {
      ran = Duration.ZERO;
    }
    directory.delete();
    ended.run();

    AttemptOutcome result;
    if (stopped != null) {
      result = new AttemptOutcome.Stopped(stopped, tail.lastLines(), ran);
    } else if (hit != null) {
      result = new AttemptOutcome.LimitReached(hit.limit(), hit.detail(), tail.lastLines(), ran);
    } else if (exitCode != null) {
      result = new AttemptOutcome.Exited(exitCode, tail.lastLines(), ran);
    } else {
      result = new AttemptOutcome.TimedOut(tail.lastLines(), ran);
    }
    log.info(
        "worker pid {} (run {} step {} attempt {}, agent {}) ended: {} after {}{}",
        process.pid(),
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        launch.agent(),
        switch (result) {
          case AttemptOutcome.Exited e -> "exited with " + e.exitCode();
          case AttemptOutcome.TimedOut t -> "killed at its deadline " + launch.deadline();
          case AttemptOutcome.Stopped s -> "stopped (" + s.reason() + ")";
          case AttemptOutcome.LimitReached l ->
              "stopped at its " + l.limit() + " limit (" + l.detail() + ")";
          case AttemptOutcome.FailedToStart f -> "failed to start (" + f.reason() + ")";
        },
        ran,
        leftovers > 0 ? "; killed " + leftovers + " process(es) it left behind" : "");
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return result;
  }

  private void joinReader() {
    try {
      if (!reader.join(OUTPUT_WAIT)) {
        // Someone outside the tree still holds the pipe; the tail read so far is what we report.
        log.warn(
            "output of worker pid {} (run {} step {}) did not end within {} of its exit",
            process.pid(),
            launch.runId(),
            launch.stepId(),
            OUTPUT_WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void readOutput(InputStream output) {
    try (output) {
      tail.drain(
          output,
          line -> {
            if (log.isDebugEnabled()) {
              log.debug(
                  "worker output run {} step {} attempt {}: {}",
                  launch.runId(),
                  launch.stepId(),
                  launch.attempt(),
                  line);
            }
          });
    } catch (IOException e) {
      log.debug("output of worker pid {} closed: {}", process.pid(), e.toString());
    }
  }

  /** The working directory this handle deletes (for tests). */
  Path directory() {
    return directory.path();
  }
}
