package dev.worka.agents;

import dev.worka.protocol.PlanAccepted;
import java.util.List;

/**
 * What {@code POST /v1/agent/plan} gave: accepted and stored as steps, rejected as invalid or
 * unauthorized ({@code 422}, every violation listed), denied by policy ({@code 403}), refused
 * because the run already has another accepted plan ({@code 409 plan_conflict}: an earlier attempt
 * of this step had it accepted), or another failure.
 */
sealed interface PlanOutcome {
  record Accepted(PlanAccepted plan) implements PlanOutcome {}

  record Rejected(List<String> violations) implements PlanOutcome {
    public Rejected {
      violations = List.copyOf(violations);
    }
  }

  record Denied(String gateId, String reason) implements PlanOutcome {
    /** "denied by policy: REASON (gate ID)", for messages that name what was denied first. */
    String describe() {
      return Denials.describe(reason, gateId);
    }
  }

  /**
   * The run's plan is {@code accepted}, from an earlier attempt; the one proposed now was refused.
   */
  record Superseded(PlanAccepted accepted, String gateId, String reason) implements PlanOutcome {}

  record Failed(GatewayError error) implements PlanOutcome {}
}
