package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** The Gateway's answer to an accepted plan: its id, hash and where each step_ref went. */
public record PlanAccepted(
    @JsonProperty("plan_id") String planId,
    @JsonProperty("plan_hash") String planHash,
    @JsonProperty("steps") Map<String, String> steps) {

  public PlanAccepted {
    steps = Map.copyOf(steps);
  }
}
