package dev.worka.agents;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Sends {@code POST /v1/agent/heartbeat} every {@code every} on one daemon thread while an agent
 * works, so the Gateway keeps the step's lease. A failed heartbeat is logged, never fatal: the
 * Gateway, not the worker, decides when a step has gone quiet. Closed before the result is posted.
 */
final class HeartbeatLoop implements AutoCloseable {
  private final ScheduledExecutorService scheduler;

  private HeartbeatLoop(ScheduledExecutorService scheduler) {
    this.scheduler = scheduler;
  }

  static HeartbeatLoop start(GatewayClient gateway, Duration every, ProgressLog log) {
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "worka-heartbeat");
              thread.setDaemon(true);
              return thread;
            });
    long millis = Math.max(1, every.toMillis());
    // heartbeat() answers a failure as a value, so the task does not throw: its future only ends
    // when close() shuts the scheduler down, and there is nothing in it to wait for.
    var unused =
        scheduler.scheduleWithFixedDelay(
            () ->
                gateway
                    .heartbeat()
                    .ifPresent(error -> log.line("heartbeat not accepted: " + error.describe())),
            millis,
            millis,
            TimeUnit.MILLISECONDS);
    return new HeartbeatLoop(scheduler);
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    try {
      // A heartbeat still waiting on the network after this is abandoned (its thread is a daemon).
      scheduler.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
