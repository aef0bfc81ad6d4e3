package dev.worka.gateway.skill;

import java.util.Objects;
import java.util.UUID;

/**
 * Who invokes a skill and under which recorded invocation: run, step (null for the Gateway's own
 * calls, e.g. answering a GitHub comment), agent (from the verified token, or {@code gateway}), the
 * {@code skill_invocations} row id (for the Gateway's own calls, an id derived from what it
 * answers), and the idempotency key a provider passes upstream where the upstream supports one
 * (null when the worker sent none).
 */
public record InvocationContext(
    UUID runId, UUID stepId, String agent, UUID invocationId, String idempotencyKey) {

  static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;

  /** The prefix of {@link #marker()}. */
  public static final String MARKER_PREFIX = "worka-invocation:";

  public InvocationContext {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(agent, "agent");
    if (agent.isBlank()) {
      throw new IllegalArgumentException("agent must not be blank");
    }
    Objects.requireNonNull(invocationId, "invocationId");
    if (idempotencyKey != null
        && (idempotencyKey.isBlank()
            || idempotencyKey.length() > MAX_IDEMPOTENCY_KEY_LENGTH
            || idempotencyKey.chars().anyMatch(Character::isISOControl))) {
      throw new IllegalArgumentException(
          "idempotencyKey must be 1 to "
              + MAX_IDEMPOTENCY_KEY_LENGTH
              + " characters without control characters");
    }
  }

  /**
   * The text a side-effecting call carries in what it creates upstream (e.g. in an issue's body, as
   * an HTML comment), so that {@link SkillProvider#reconcile} can find the effect of this
   * invocation after a crash: {@code worka-invocation:<invocation id>}.
   */
  public String marker() {
    return MARKER_PREFIX + invocationId;
  }
}
