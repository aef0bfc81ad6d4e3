package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/** A skill as a worker sees it in its envelope: name, what it does, its input schema. */
public record SkillSpec(
    @JsonProperty("name") String name,
    @JsonProperty("description") String description,
    @JsonProperty("input_schema") JsonNode inputSchema,
    @JsonProperty("side_effect") boolean sideEffect) {}
