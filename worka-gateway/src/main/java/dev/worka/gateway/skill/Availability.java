package dev.worka.gateway.skill;

import java.util.Objects;

/** Whether a provider can make live calls now, and if not, what an operator should do. */
public sealed interface Availability permits Availability.Available, Availability.Unavailable {

  /** Live calls can be made. */
  record Available() implements Availability {}

  /** Live calls cannot be made; {@code reason} says why and what to set or do. */
  record Unavailable(String reason) implements Availability {
    public Unavailable {
      Objects.requireNonNull(reason, "reason");
      if (reason.isBlank()) {
        throw new IllegalArgumentException("reason must not be blank");
      }
    }
  }
}
