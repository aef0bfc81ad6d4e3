package dev.worka.gateway.policy;

import java.util.Objects;

/**
 * The outcome of a policy question. Both carry a self-contained reason that is recorded in the gate
 * row and, for a deny, returned to the agent.
 */
public sealed interface Decision permits Decision.Allow, Decision.Deny {

  /** Why, in one sentence. */
  String reason();

  /** Whether this is an {@link Allow}. */
  default boolean allowed() {
    return this instanceof Allow;
  }

  record Allow(String reason) implements Decision {
    public Allow {
      requireReason(reason);
    }
  }

  record Deny(String reason) implements Decision {
    public Deny {
      requireReason(reason);
    }
  }

  private static void requireReason(String reason) {
    if (Objects.requireNonNull(reason, "reason").isBlank()) {
      throw new IllegalArgumentException("a decision needs a reason");
    }
  }
}
