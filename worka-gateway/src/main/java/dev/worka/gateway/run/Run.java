package dev.worka.gateway.run;

import java.time.Instant;
import java.util.UUID;

/** A run row. {@code resultJson} and {@code deliveryJson} are JSON text. */
public record Run(
    UUID id,
    RunStatus status,
    RunSource source,
    String text,
    String requester,
    String slackChannel,
    String slackUser,
    String slackThreadTs,
    String deliveryJson,
    String idempotencyKey,
    String requestHash,
    String traceId,
    UUID policyManifestId,
    String resultJson,
    String error,
    Instant deadline,
    Instant createdAt,
    Instant updatedAt,
    Instant completedAt) {}
