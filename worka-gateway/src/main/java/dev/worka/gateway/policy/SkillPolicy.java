package dev.worka.gateway.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * What the manifest's {@code skills:} section says about one skill.
 *
 * @param sideEffect the operator's declaration that the skill changes the world
 * @param when the skill's condition (a CEL expression over {@code input}, {@code run}, {@code
 *     step}, {@code agent} and {@code lists}, DESIGN §7), compiled; a call is allowed only if it
 *     holds ({@link PolicyDecider#condition})
 * @param approval whether a call waits for a person's approval before it is performed ({@link
 *     PolicyDecider#approval}); empty: it does not
 */
public record SkillPolicy(
    String name,
    boolean sideEffect,
    Optional<SkillCondition> when,
    Optional<ApprovalPolicy> approval) {
  public SkillPolicy {
    if (!Names.isSkillName(name)) {
      throw new IllegalArgumentException(
          "skill name " + Names.shown(name) + " does not match " + Names.SKILL_PATTERN_TEXT);
    }
    Objects.requireNonNull(when, "when");
    if (when.isPresent() && !when.get().skill().equals(name)) {
      throw new IllegalArgumentException(
          "skill " + name + " holds the condition of " + when.get().skill());
    }
    Objects.requireNonNull(approval, "approval");
    if (approval.isPresent()
        && approval.get().when().isPresent()
        && !approval.get().when().get().skill().equals(name)) {
      throw new IllegalArgumentException(
          "skill "
              + name
              + " holds the approval condition of "
              + approval.get().when().get().skill());
    }
  }

  /** A skill without an approval. */
  public SkillPolicy(String name, boolean sideEffect, Optional<SkillCondition> when) {
    this(name, sideEffect, when, Optional.empty());
  }

  /** A skill without a condition. */
  public SkillPolicy(String name, boolean sideEffect) {
    this(name, sideEffect, Optional.empty());
  }
}
