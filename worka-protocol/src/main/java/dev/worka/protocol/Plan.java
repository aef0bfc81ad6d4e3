package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A plan as a planner proposes it. A proposal only: the Gateway validates it against {@link
 * #SCHEMA_RESOURCE} and the policy before anything becomes a step.
 */
public record Plan(
    @JsonProperty("summary") String summary, @JsonProperty("steps") List<PlanStep> steps) {

  /** Classpath location of the plan's JSON Schema (draft 2020-12). */
  public static final String SCHEMA_RESOURCE = "/dev/worka/protocol/plan.schema.json";

  public Plan {
    steps = steps == null ? List.of() : List.copyOf(steps);
  }
}
