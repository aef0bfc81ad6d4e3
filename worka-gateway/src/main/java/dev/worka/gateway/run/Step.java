package dev.worka.gateway.run;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** A step row. {@code instructionJson} and {@code outputJson} are JSON text. */
public record Step(
    UUID id,
    UUID runId,
    UUID planId,
    String stepRef,
    StepRole role,
    String agent,
    int sequence,
    String instructionJson,
    List<String> allowedSkills,
    List<UUID> dependsOn,
    StepStatus status,
    int attempt,
    int maxAttempts,
    Instant deadline,
    String outputJson,
    String summary,
    String error,
    String cleaningJson,
    Instant createdAt,
    Instant startedAt,
    Instant completedAt) {

  public Step {
    allowedSkills = List.copyOf(allowedSkills);
    dependsOn = List.copyOf(dependsOn);
  }
}
