package dev.worka.gateway.runtime;

import java.util.Objects;

/**
 * The handle of a worker that could not be started: nothing to wait for, nothing to stop. {@code
 * retryable}: as {@link AttemptOutcome.FailedToStart#retryable()}.
 */
public record NotStarted(String reason, boolean retryable) implements WorkerHandle {
  public NotStarted {
    Objects.requireNonNull(reason, "reason");
  }

  /** A worker that did not start this time; another attempt may. */
  public NotStarted(String reason) {
    this(reason, true);
  }

  /** A worker that no attempt will start until the operator acts; {@code reason} says how. */
  public static NotStarted forGood(String reason) {
    return new NotStarted(reason, false);
  }

  @Override
  public AttemptOutcome await() {
    return new AttemptOutcome.FailedToStart(reason, retryable);
  }

  @Override
  public void stop(String why) {}

  @Override
  public long pid() {
    return -1;
  }
}
