package dev.worka.gateway.queue;

import java.time.Instant;
import java.util.UUID;

/** A claimed task: what to do ({@code kind}), on what, and until when the claim holds. */
public record Task(
    UUID id,
    String kind,
    UUID runId,
    UUID stepId,
    String idempotencyKey,
    int attempts,
    String leaseOwner,
    Instant leaseUntil) {}
