package dev.worka.gateway.memory;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * One memory, as a store holds it: its id (a UUID in PostgreSQL, mem0's id there), the agent whose
 * namespace it is in, where it came from ({@code runId}, {@code stepId}; null when a store lost
 * them) and its cleaned text.
 */
public record Memory(
    String id, String agent, UUID runId, UUID stepId, String text, Instant createdAt) {
  public Memory {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(agent, "agent");
    Objects.requireNonNull(text, "text");
  }
}
