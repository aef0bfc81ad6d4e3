package dev.worka.gateway.runtime;

import java.util.Objects;

/** The handle of a worker that could not be started: nothing to wait for, nothing to stop. */
public record NotStarted(String reason) implements WorkerHandle {
  public NotStarted {
    Objects.requireNonNull(reason, "reason");
  }

  @Override
  public AttemptOutcome await() {
    return new AttemptOutcome.FailedToStart(reason);
  }

  @Override
  public void stop(String why) {}

  @Override
  public long pid() {
    return -1;
  }
}
