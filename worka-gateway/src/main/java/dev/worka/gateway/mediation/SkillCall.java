package dev.worka.gateway.mediation;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.UUID;

/**
 * What a mediated skill call came to ({@link SkillMediator#call}): performed, replayed from its
 * record, or one of the refusals a skill call can meet. Never thrown: the REST route and the MCP
 * server each switch on it.
 */
public sealed interface SkillCall
    permits SkillCall.Performed,
        SkillCall.Replayed,
        SkillCall.AwaitingApproval,
        Refusal.AttemptEnded,
        Refusal.Denied,
        Refusal.LimitReached,
        Refusal.SkillUnavailable,
        Refusal.InvalidInput,
        Refusal.KeyConflict,
        Refusal.Conflict,
        Refusal.NotAdmitted,
        Refusal.UpstreamFailed,
        Refusal.OutputInvalid,
        Refusal.OutputTooLarge {

  /** Allowed, performed now, its output cleaned and recorded. */
  record Performed(UUID invocationId, JsonNode output) implements SkillCall {}

  /**
   * The recorded output of a call made before with the same key and input (or found upstream by
   * reconciliation, or stated by an operator): no second effect.
   */
  record Replayed(UUID invocationId, JsonNode output) implements SkillCall {}

  /**
   * The call needs a person's approval (the policy's {@code skills.SKILL.approval}): nothing was
   * performed; the request {@code approvalId} is bound to this exact call, and the step waits in
   * {@code awaiting_approval} (the worker's attempt is over).
   */
  record AwaitingApproval(
      UUID approvalId, java.time.Instant expiresAt, java.util.List<String> approvers, String reason)
      implements SkillCall {}
}
