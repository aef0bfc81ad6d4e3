package dev.worka.gateway.audit;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * One recorded failure, of a {@link BurnKind}; {@code diagnosticsJson} holds exit code, last output
 * lines and the like.
 */
public record Burn(
    UUID id,
    UUID runId,
    UUID stepId,
    String agent,
    Integer attempt,
    BurnKind kind,
    String reason,
    String diagnosticsJson,
    Instant createdAt) {

  public Burn {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(reason, "reason");
    diagnosticsJson = diagnosticsJson == null ? "{}" : diagnosticsJson;
  }
}
