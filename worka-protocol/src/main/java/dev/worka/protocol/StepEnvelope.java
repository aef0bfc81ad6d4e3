package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The answer to {@code GET /v1/agent/context}: everything a worker is given for one step
 * attempt. {@code role} is {@code planner} for planning steps and {@code worker} otherwise.
 */
public record StepEnvelope(
    @JsonProperty("run_id") String runId,
    @JsonProperty("step_id") String stepId,
    @JsonProperty("step_ref") String stepRef,
    @JsonProperty("attempt") int attempt,
    @JsonProperty("agent") String agent,
    @JsonProperty("role") String role,
    @JsonProperty("objective") String objective,
    @JsonProperty("request") RequestContext request,
    @JsonProperty("skills") List<SkillSpec> skills,
    @JsonProperty("dependencies") List<DependencyOutput> dependencies,
    @JsonProperty("memory") List<String> memory,
    @JsonProperty("deadline") String deadline,
    @JsonProperty("planning") PlanningContext planning) {

  public static final String ROLE_PLANNER = "planner";
  public static final String ROLE_WORKER = "worker";

  public StepEnvelope {
    skills = skills == null ? List.of() : List.copyOf(skills);
    dependencies = dependencies == null ? List.of() : List.copyOf(dependencies);
    memory = memory == null ? List.of() : List.copyOf(memory);
  }
}
