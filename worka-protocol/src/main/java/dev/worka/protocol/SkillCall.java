package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/** Body of {@code POST /v1/agent/skills/{skill}}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SkillCall(
    @JsonProperty("input") JsonNode input,
    @JsonProperty("idempotency_key") String idempotencyKey) {}
