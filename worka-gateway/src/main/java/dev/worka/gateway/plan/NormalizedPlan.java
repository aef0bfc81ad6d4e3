package dev.worka.gateway.plan;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * An accepted plan: its normalized summary and its steps in dependency order (every step after the
 * steps it depends on; among steps that are ready together, the planner's order).
 */
public record NormalizedPlan(String summary, List<NormalizedStep> steps) {

  public NormalizedPlan {
    Objects.requireNonNull(summary, "summary");
    steps = List.copyOf(steps);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < steps.size(); i++) {
      NormalizedStep step = steps.get(i);
      if (step.sequence() != i + 1) {
        throw new IllegalArgumentException(
            "step "
                + step.stepRef()
                + " has sequence "
                + step.sequence()
                + " at position "
                + (i + 1));
      }
      for (String dependency : step.dependsOn()) {
        if (!seen.contains(dependency)) {
          throw new IllegalArgumentException(
              "step " + step.stepRef() + " comes before its dependency " + dependency);
        }
      }
      if (!seen.add(step.stepRef())) {
        throw new IllegalArgumentException("step_ref " + step.stepRef() + " appears twice");
      }
    }
  }

  /** The step with this step_ref, if the plan has one. */
  public Optional<NormalizedStep> step(String stepRef) {
    return steps.stream().filter(s -> s.stepRef().equals(stepRef)).findFirst();
  }
}
