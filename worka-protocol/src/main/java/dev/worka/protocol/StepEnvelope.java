package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The answer to {@code GET /v1/agent/context}: everything a worker is given for one step attempt.
 * {@code role} is {@code planner} for planning steps and {@code worker} otherwise.
 *
 * <p>{@code model} is an extension: the model the step may call through the Gateway ({@link
 * ModelOffer}), absent (not even {@code null}) when the Gateway runs the offline scripted model, so
 * agents written before it see the envelope they always saw.
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
    @JsonProperty("planning") PlanningContext planning,
    @JsonProperty("model") @JsonInclude(JsonInclude.Include.NON_NULL) ModelOffer model) {

  public static final String ROLE_PLANNER = "planner";
  public static final String ROLE_WORKER = "worker";

  /** An envelope without a model: the step's agent decides with the offline scripted model. */
  public StepEnvelope(
      String runId,
      String stepId,
      String stepRef,
      int attempt,
      String agent,
      String role,
      String objective,
      RequestContext request,
      List<SkillSpec> skills,
      List<DependencyOutput> dependencies,
      List<String> memory,
      String deadline,
      PlanningContext planning) {
    this(
        runId,
        stepId,
        stepRef,
        attempt,
        agent,
        role,
        objective,
        request,
        skills,
        dependencies,
        memory,
        deadline,
        planning,
        null);
  }

  public StepEnvelope {
    skills = skills == null ? List.of() : List.copyOf(skills);
    dependencies = dependencies == null ? List.of() : List.copyOf(dependencies);
    memory = memory == null ? List.of() : List.copyOf(memory);
  }
}
