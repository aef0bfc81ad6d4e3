package dev.worka.gateway.plan;

import java.util.List;
import java.util.Objects;

/** The outcome of validating a proposed plan. */
public sealed interface PlanValidation permits PlanValidation.Accepted, PlanValidation.Rejected {

  /**
   * The plan may become steps.
   *
   * @param plan the normalized plan, steps in dependency order
   * @param planHash hex SHA-256 of {@code canonicalJson}'s UTF-8 bytes
   * @param canonicalJson RFC 8785 canonical JSON of the normalized plan, steps as proposed
   */
  record Accepted(NormalizedPlan plan, String planHash, String canonicalJson)
      implements PlanValidation {
    public Accepted {
      Objects.requireNonNull(plan, "plan");
      if (planHash == null || !planHash.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException(
            "planHash must be 64 lowercase hex digits, got " + planHash);
      }
      Objects.requireNonNull(canonicalJson, "canonicalJson");
    }
  }

  /**
   * The plan is refused and never becomes steps.
   *
   * @param reasons every violation found, each a sentence naming the step_ref or field
   */
  record Rejected(List<String> reasons) implements PlanValidation {
    public Rejected {
      reasons = List.copyOf(reasons);
      if (reasons.isEmpty()) {
        throw new IllegalArgumentException("a rejected plan has at least one reason");
      }
    }
  }
}
