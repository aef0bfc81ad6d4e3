package dev.worka.gateway;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A background sweep: {@code sweep} runs on a virtual thread {@code first} after start, then {@code
 * every} after each run ends, until the Gateway closes. A sweep that throws is logged ({@code
 * failed}, then the exception) and simply runs again at its next turn.
 */
final class SweepUntilShutdown implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SweepUntilShutdown.class);

  private final ScheduledExecutorService executor;

  private SweepUntilShutdown(ScheduledExecutorService executor) {
    this.executor = executor;
  }

  /**
   * Starts the sweep on a thread named {@code name}.
   *
   * @param failed what the log line says when a sweep throws, e.g. "reconciling skill invocations
   *     failed (tried again in a minute)"
   */
  // The task catches what a sweep throws, so its future only ends when close() shuts the executor
  // down: there is nothing in it to wait for.
  @SuppressWarnings("FutureReturnValueIgnored")
  static SweepUntilShutdown start(
      String name, Runnable sweep, Duration first, Duration every, String failed) {
    ScheduledExecutorService executor =
        Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name(name).factory());
    executor.scheduleWithFixedDelay(
        () -> {
          try {
            sweep.run();
          } catch (RuntimeException e) {
            log.warn("{}: {}", failed, e.toString());
          }
        },
        first.toMillis(),
        every.toMillis(),
        TimeUnit.MILLISECONDS);
    return new SweepUntilShutdown(executor);
  }

  /** Stops the sweep, interrupting one under way. */
  @Override
  public void close() {
    executor.shutdownNow();
  }
}
