package dev.worka.agents;

import dev.worka.protocol.StepEnvelope;
import dev.worka.protocol.StepResult;

/**
 * One built-in agent: does the work of one step attempt and says how it went. It asks the Gateway
 * for everything through {@code gateway} and returns the result; the runner posts it. Expected
 * failures (a denial, a rejected plan) are returned as failed results; a thrown exception is a bug
 * and is reported by the runner as a failed result too.
 */
interface Agent {
  StepResult run(StepEnvelope step, GatewayClient gateway);
}
