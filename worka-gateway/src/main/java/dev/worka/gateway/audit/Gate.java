package dev.worka.gateway.audit;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/** One recorded decision. */
public record Gate(
    UUID id,
    GateAction action,
    GateStatus status,
    String subject,
    UUID runId,
    UUID stepId,
    Integer attempt,
    String skill,
    String reason,
    UUID policyManifestId,
    String traceId,
    Instant createdAt,
    long chainIndex,
    String prevHash,
    String hash) {

  public Gate {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(reason, "reason");
  }
}
