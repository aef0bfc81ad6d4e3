package dev.worka.agents.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;

/**
 * One allowed skill call of this attempt: what was asked and what the Gateway recorded. {@code
 * replayed} is true when the Gateway returned an earlier recorded output for the same idempotency
 * key instead of acting again.
 */
public record SkillExchange(
    String skill, JsonNode input, String invocationId, JsonNode output, boolean replayed) {
  public SkillExchange {
    input = input == null ? NullNode.getInstance() : input;
    output = output == null ? NullNode.getInstance() : output;
  }
}
