package dev.worka.gateway.policy;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * One immutable row of {@code policy_manifests}: a manifest version, the SHA-256 of its source
 * text, the source itself and its compiled policy. Runs are pinned to one by {@link #id()}.
 */
public record StoredPolicy(
    UUID id, int version, String sha256, String source, CompiledPolicy policy, Instant createdAt) {

  public StoredPolicy {
    Objects.requireNonNull(id, "id");
    if (version < 1) {
      throw new IllegalArgumentException("policy version must be positive, got " + version);
    }
    Objects.requireNonNull(sha256, "sha256");
    if (!sha256.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("sha256 must be 64 lowercase hex digits, got " + sha256);
    }
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(createdAt, "createdAt");
  }
}
