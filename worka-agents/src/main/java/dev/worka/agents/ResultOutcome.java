package dev.worka.agents;

/** What {@code POST /v1/agent/result} gave: the Gateway has the result, or it does not. */
sealed interface ResultOutcome {
  record Accepted() implements ResultOutcome {}

  record Failed(GatewayError error) implements ResultOutcome {}
}
