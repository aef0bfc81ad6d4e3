package dev.worka.gateway.mediation;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Whether a request names only its token's run, step, attempt and agent ({@link
 * Attempts#checkIdentity}): the body with those fields removed, or the refusal (recorded as a deny
 * gate).
 */
public sealed interface IdentityCheck
    permits IdentityCheck.Matched, Refusal.IdentityMismatch, Refusal.AttemptEnded {

  /** Every identity field matched the token; {@code body} is the body without them (or null). */
  record Matched(JsonNode body) implements IdentityCheck {}
}
