package dev.worka.gateway.audit;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * One recorded failure. {@code kind} is one of {@link #TIMEOUT}, {@link #CRASH}, {@link
 * #INVALID_OUTPUT}, {@link #POLICY}, {@link #DISPATCH}, {@link #LOST}, {@link #CANCELLED} (more may
 * be added); {@code diagnosticsJson} holds exit code, last output lines and the like.
 */
public record Burn(
    UUID id,
    UUID runId,
    UUID stepId,
    String agent,
    Integer attempt,
    String kind,
    String reason,
    String diagnosticsJson,
    Instant createdAt) {

  public static final String TIMEOUT = "timeout";
  public static final String CRASH = "crash";
  public static final String INVALID_OUTPUT = "invalid_output";
  public static final String POLICY = "policy";
  public static final String DISPATCH = "dispatch";
  public static final String LOST = "lost";
  public static final String CANCELLED = "cancelled";
  public static final String FAILED = "failed";

  /** Answering where the request came from (Slack, GitHub) failed for good. */
  public static final String DELIVERY = "delivery";

  public Burn {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(reason, "reason");
    diagnosticsJson = diagnosticsJson == null ? "{}" : diagnosticsJson;
  }
}
