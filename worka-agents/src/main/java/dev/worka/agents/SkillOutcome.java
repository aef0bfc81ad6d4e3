package dev.worka.agents;

import dev.worka.protocol.SkillCallResult;

/**
 * What {@code POST /v1/agent/skills/{skill}} gave: the recorded output, a policy denial (the
 * Gateway committed a deny gate and did nothing), or another failure.
 */
sealed interface SkillOutcome {
  record Output(SkillCallResult result) implements SkillOutcome {}

  /** A {@code 403}: {@code gateId} names the deny gate, {@code reason} says why. */
  record Denied(String gateId, String reason) implements SkillOutcome {
    /** "denied by policy: REASON (gate ID)", for messages that name what was denied first. */
    String describe() {
      return Denials.describe(reason, gateId);
    }
  }

  record Failed(GatewayError error) implements SkillOutcome {}
}
