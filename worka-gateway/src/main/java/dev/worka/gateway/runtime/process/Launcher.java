package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Starts every worker process from one platform thread that lives as long as the JVM.
 *
 * <p>bubblewrap's {@code --die-with-parent} is {@code PR_SET_PDEATHSIG}, and Linux sends that
 * signal when the <em>thread</em> that forked the process ends, not the process. Workers are
 * started from virtual threads, whose carrier threads the JDK retires when idle; started from
 * there, a sandboxed worker would be killed at a random moment. Started from here, it dies exactly
 * when the Gateway's JVM does.
 */
final class Launcher {
  private static final ExecutorService THREAD =
      Executors.newSingleThreadExecutor(
          task -> Thread.ofPlatform().daemon().name("worka-worker-launcher").unstarted(task));

  private Launcher() {}

  /**
   * {@code builder.start()} on the launcher thread. Waits through interrupts (a started process
   * must reach its handle, or nobody would reap it) and restores the interrupt flag after.
   */
  static Process start(ProcessBuilder builder) throws IOException {
    Future<Process> started = THREAD.submit(builder::start);
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return started.get();
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof IOException io) {
            throw io;
          }
          if (cause instanceof RuntimeException runtime) {
            throw runtime;
          }
          if (cause instanceof Error error) {
            throw error;
          }
          throw new IOException(cause);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
