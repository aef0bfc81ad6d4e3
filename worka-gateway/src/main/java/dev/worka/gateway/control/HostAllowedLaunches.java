package dev.worka.gateway.control;

import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.runtime.NotStarted;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.WorkerRuntime;
import java.util.Objects;
import java.util.Optional;

/**
 * A runtime that starts only what the host allows ({@link LaunchAllowance}), whatever manifest a
 * step's run is pinned to: {@code PUT /v1/policy} refuses other launch specs, and this is the same
 * rule where commands are run — for runs pinned to a version stored before the rule (or before the
 * host changed {@code WORKA_POLICY_FILE} or {@code WORKA_ALLOWED_LAUNCH}). A refused worker never
 * starts; its attempt fails to start with the reason (a {@code dispatch} burn).
 */
public final class HostAllowedLaunches implements WorkerRuntime {
  private final WorkerRuntime runtime;
  private final LaunchAllowance launches;

  public HostAllowedLaunches(WorkerRuntime runtime, LaunchAllowance launches) {
    this.runtime = Objects.requireNonNull(runtime, "runtime");
    this.launches = Objects.requireNonNull(launches, "launches");
  }

  @Override
  public WorkerHandle start(WorkerLaunch launch) {
    Optional<String> refusal = launches.refusal(launch.runtime());
    if (refusal.isEmpty()) {
      return runtime.start(launch);
    }
    return new NotStarted("the host does not allow it: " + refusal.get());
  }
}
