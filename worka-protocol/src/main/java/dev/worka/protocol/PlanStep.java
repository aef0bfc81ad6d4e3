package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** One proposed step of a plan, as a planner writes it (DESIGN §6). */
public record PlanStep(
    @JsonProperty("step_ref") String stepRef,
    @JsonProperty("agent") String agent,
    @JsonProperty("objective") String objective,
    @JsonProperty("skills") List<String> skills,
    @JsonProperty("depends_on") List<String> dependsOn) {

  public PlanStep {
    skills = skills == null ? List.of() : List.copyOf(skills);
    dependsOn = dependsOn == null ? List.of() : List.copyOf(dependsOn);
  }
}
