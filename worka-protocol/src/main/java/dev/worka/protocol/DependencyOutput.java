package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/** The accepted output of a step that the current step depends on. */
public record DependencyOutput(
    @JsonProperty("step_id") String stepId,
    @JsonProperty("step_ref") String stepRef,
    @JsonProperty("agent") String agent,
    @JsonProperty("summary") String summary,
    @JsonProperty("output") JsonNode output) {}
