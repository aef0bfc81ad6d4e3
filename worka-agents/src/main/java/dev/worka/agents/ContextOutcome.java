package dev.worka.agents;

import dev.worka.protocol.StepEnvelope;

/** What {@code GET /v1/agent/context} gave. */
sealed interface ContextOutcome {
  record Received(StepEnvelope step) implements ContextOutcome {}

  record Failed(GatewayError error) implements ContextOutcome {}
}
