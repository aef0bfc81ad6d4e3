package dev.worka.gateway.token;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * What a verified worker token says: the worker is {@code agent}, running attempt {@code attempt}
 * of step {@code stepId} in run {@code runId}, until {@code expiresAt}. This is the only source of
 * a worker's identity (DESIGN §2.2).
 */
public record WorkerClaims(
    String agent,
    UUID runId,
    UUID stepId,
    int attempt,
    String jti,
    Instant issuedAt,
    Instant expiresAt) {

  /** Agent names as plans and the policy spell them. */
  static final Pattern AGENT_NAME = Pattern.compile("[a-z][a-z0-9_-]{0,63}");

  static final int MAX_JTI_LENGTH = 128;

  public WorkerClaims {
    Objects.requireNonNull(agent, "agent");
    if (!AGENT_NAME.matcher(agent).matches()) {
      throw new IllegalArgumentException(
          "agent must match " + AGENT_NAME.pattern() + ", was '" + agent + "'");
    }
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(stepId, "stepId");
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be at least 1, was " + attempt);
    }
    Objects.requireNonNull(jti, "jti");
    if (jti.isBlank() || jti.length() > MAX_JTI_LENGTH) {
      throw new IllegalArgumentException(
          "jti must be 1 to " + MAX_JTI_LENGTH + " characters, was " + jti.length());
    }
    Objects.requireNonNull(issuedAt, "issuedAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
    if (!expiresAt.isAfter(issuedAt)) {
      throw new IllegalArgumentException(
          "expiresAt " + expiresAt + " must be after issuedAt " + issuedAt);
    }
  }
}
