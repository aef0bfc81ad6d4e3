package dev.worka.gateway.runtime;

import java.util.Objects;

/**
 * A runtime this Gateway knows but that is not configured here (e.g. {@code kubernetes} without a
 * namespace): it starts nothing, and a step that needs it fails at once, for good — every attempt
 * would fail the same way — with {@code reason}, which says what to set.
 */
public record UnconfiguredRuntime(String reason) implements WorkerRuntime {
  public UnconfiguredRuntime {
    Objects.requireNonNull(reason, "reason");
    if (reason.isBlank()) {
      throw new IllegalArgumentException("reason must not be blank");
    }
  }

  @Override
  public WorkerHandle start(WorkerLaunch launch) {
    return new NotStarted(reason);
  }
}
