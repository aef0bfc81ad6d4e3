package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * Given to planner steps only: the agents a plan may use, with the skills each may be given, and
 * the plan limits. Informational: the Gateway validates the plan against the policy anyway.
 */
public record PlanningContext(
    @JsonProperty("agents") List<AgentOffer> agents, @JsonProperty("max_steps") int maxSteps) {

  public PlanningContext {
    agents = agents == null ? List.of() : List.copyOf(agents);
  }

  /** An agent a plan may name, and the skills it may be given. */
  public record AgentOffer(
      @JsonProperty("name") String name,
      @JsonProperty("description") String description,
      @JsonProperty("skills") List<String> skills) {

    public AgentOffer {
      skills = skills == null ? List.of() : List.copyOf(skills);
    }
  }
}
