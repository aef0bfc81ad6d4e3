package dev.worka.gateway.mediation;

import java.util.List;
import java.util.UUID;

/**
 * Why the Gateway refused what a worker asked, as a value: the outcomes that more than one decision
 * can come to. Each carries what its answer says; the adapters turn one into an error body and a
 * status with one shared mapping ({@code agent.AgentErrors}), so the REST route and the MCP server
 * say the same thing. A refusal with a {@code gateId} was recorded as that deny gate before it was
 * returned (DESIGN §2.4).
 *
 * <p>Each record also implements the outcome types of the decisions that can come to it ({@link
 * SkillCall}, {@link PlanSubmission}, {@link ResultSubmission}, {@link IdentityCheck}, {@link
 * Denial}), so a switch over one of those is exhaustive over exactly what that decision returns.
 */
public sealed interface Refusal {
  /**
   * The caller's step attempt is no longer running, or its run ended ({@code 401
   * step_not_running}): its token stops working. {@code gateId} is the {@code agent.token} deny
   * gate of the token's first refused use; later uses are only logged (null).
   */
  record AttemptEnded(String why, UUID gateId)
      implements Refusal, SkillCall, PlanSubmission, IdentityCheck, Denial {}

  /** A body or query named another run, step, attempt or agent than the token ({@code 403}). */
  record IdentityMismatch(String why, UUID gateId) implements Refusal, IdentityCheck {}

  /**
   * The policy does not allow it ({@code 403 policy_denied}): a permission, an allowlist, the
   * step's skills, a skill unknown to this Gateway, a {@code when} condition, a worker step's plan.
   */
  record Denied(String reason, UUID gateId) implements Refusal, SkillCall, PlanSubmission {}

  /** A call limit of the step or the run is reached ({@code 403 policy_denied}). */
  record LimitReached(String reason, UUID gateId) implements Refusal, SkillCall, PlanSubmission {}

  /** The skill's provider cannot run here ({@code 403 skill_unavailable}). */
  record SkillUnavailable(String reason, UUID gateId) implements Refusal, SkillCall {}

  /**
   * The input does not hold what it must ({@code 422 invalid_body}), with every violation; {@code
   * gateId} when it was recorded as a deny (a skill's input), null when not (a result).
   */
  record InvalidInput(String message, UUID gateId, List<String> violations)
      implements Refusal, SkillCall, ResultSubmission {
    public InvalidInput {
      violations = List.copyOf(violations);
    }
  }

  /**
   * An idempotency key used again with another input ({@code 409 idempotency_conflict}): a key
   * stands for one input.
   */
  record KeyConflict(String reason, UUID gateId) implements Refusal, SkillCall {}

  /**
   * The state it needs is not the state it found ({@code 409 conflict}): the same call in progress
   * or not finished, an outcome nobody can tell yet, a run no longer planning, a step no longer
   * running. {@code gateId} and {@code reason} when a deny gate recorded it.
   */
  record Conflict(String message, UUID gateId, String reason)
      implements Refusal, SkillCall, PlanSubmission, ResultSubmission {
    /** A conflict that recorded no gate. */
    public Conflict(String message) {
      this(message, null, null);
    }
  }

  /**
   * Not admitted: the Gateway is at capacity for skill calls ({@code 503 unavailable}); nothing was
   * decided or done. {@code retryShortly}: the answer says when to come back ({@code Retry-After}).
   */
  record NotAdmitted(String why, boolean retryShortly) implements Refusal, SkillCall {}

  /** Allowed and attempted; the upstream failed, or its outcome is unknown ({@code 502}). */
  record UpstreamFailed(String message) implements Refusal, SkillCall {}

  /** Allowed and performed; the upstream's output broke the skill's output schema ({@code 502}). */
  record OutputInvalid(String message, List<String> violations) implements Refusal, SkillCall {
    public OutputInvalid {
      violations = List.copyOf(violations);
    }
  }

  /**
   * Allowed and performed; the upstream's output was larger than the Gateway keeps ({@code 502}).
   */
  record OutputTooLarge(String message) implements Refusal, SkillCall {}
}
