package dev.worka.gateway.runtime.process;

import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerHandle;
import java.util.Objects;

/** The handle of a worker that could not be started: nothing to wait for, nothing to stop. */
record NotStarted(String reason) implements WorkerHandle {
  NotStarted {
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
