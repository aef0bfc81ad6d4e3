package dev.worka.gateway.runtime;

/** A started (or failed-to-start) worker of one step attempt. */
public interface WorkerHandle {

  /**
   * Blocks until the worker has exited, its deadline has passed (the whole worker — its process
   * tree, its Job — is then killed) or {@link #stop(String)} was called; then releases what the
   * worker held (its temporary directory, its token file) and returns how it ended. Calling it
   * again returns the same outcome. If the waiting thread is interrupted the worker is stopped and
   * the interrupt flag is kept.
   */
  AttemptOutcome await();

  /**
   * Kills the worker and everything it started, if it is still running; {@link #await()} then
   * returns {@link AttemptOutcome.Stopped} with {@code reason}. Safe to call from any thread, any
   * number of times; a no-op once the worker has ended.
   */
  void stop(String reason);

  /** The operating system id of the worker process, or {@code -1} when there is none. */
  long pid();
}
