package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/** Answer to an allowed skill call: the recorded invocation and its cleaned output. */
public record SkillCallResult(
    @JsonProperty("invocation_id") String invocationId,
    @JsonProperty("output") JsonNode output,
    @JsonProperty("replayed") boolean replayed) {}
