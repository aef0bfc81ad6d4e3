package dev.worka.gateway.plan;

import java.util.List;
import java.util.Objects;

/**
 * One accepted step with its text normalized.
 *
 * @param dependsOn the step_refs this step waits for (the store rewrites them into step ids)
 * @param sequence 1-based position in the plan's dependency order
 */
public record NormalizedStep(
    String stepRef,
    String agent,
    String objective,
    List<String> skills,
    List<String> dependsOn,
    int sequence) {

  public NormalizedStep {
    Objects.requireNonNull(stepRef, "stepRef");
    Objects.requireNonNull(agent, "agent of step " + stepRef);
    Objects.requireNonNull(objective, "objective of step " + stepRef);
    skills = List.copyOf(skills);
    dependsOn = List.copyOf(dependsOn);
    if (sequence < 1) {
      throw new IllegalArgumentException(
          "sequence of step " + stepRef + " must be >= 1, got " + sequence);
    }
  }
}
