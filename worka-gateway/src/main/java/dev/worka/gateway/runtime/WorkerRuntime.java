package dev.worka.gateway.runtime;

/** Starts the worker of one step attempt somewhere (a child process, a Kubernetes Job, …). */
public interface WorkerRuntime {

  /**
   * Starts the worker for {@code launch}. Never throws for an expected failure: a worker that
   * cannot be started is a handle whose {@link WorkerHandle#await()} returns {@link
   * AttemptOutcome.FailedToStart}. The caller must {@link WorkerHandle#await() await} every handle
   * it gets, which is also what releases the worker's resources.
   */
  WorkerHandle start(WorkerLaunch launch);
}
