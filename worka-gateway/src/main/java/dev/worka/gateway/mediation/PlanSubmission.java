package dev.worka.gateway.mediation;

import dev.worka.protocol.PlanAccepted;
import java.util.List;
import java.util.UUID;

/**
 * What a planner's plan came to ({@link AcceptPlan#submit}): accepted and stored as steps, the
 * run's accepted plan again, rejected by validation, refused because the run has another plan, or
 * one of the refusals a plan can meet. Never thrown: the REST route switches on it.
 */
public sealed interface PlanSubmission
    permits PlanSubmission.Accepted,
        PlanSubmission.AlreadyAccepted,
        PlanSubmission.Rejected,
        PlanSubmission.OtherPlanAccepted,
        Refusal.AttemptEnded,
        Refusal.Denied,
        Refusal.LimitReached,
        Refusal.Conflict {

  /** Valid: the plan, its steps and the allow gate are stored. */
  record Accepted(PlanAccepted plan) implements PlanSubmission {}

  /** The run's accepted plan, submitted again: answered with it, nothing stored. */
  record AlreadyAccepted(PlanAccepted plan) implements PlanSubmission {}

  /**
   * Invalid: stored as rejected with a deny gate and a {@code policy} burn, the run {@code
   * rejected}; {@code reasons} are the validator's violations.
   */
  record Rejected(String why, UUID gateId, List<String> reasons) implements PlanSubmission {
    public Rejected {
      reasons = List.copyOf(reasons);
    }
  }

  /**
   * Another plan than the run's accepted one: refused with a deny gate, nothing stored; {@code
   * accepted} is the run's plan, which the planner may end its step with.
   */
  record OtherPlanAccepted(String why, UUID gateId, PlanAccepted accepted)
      implements PlanSubmission {}
}
