package dev.worka.gateway.skill;

import dev.worka.gateway.error.WorkaException;
import java.util.Objects;

/**
 * A skill cannot be invoked live: unknown, or its provider is not configured or not built. The API
 * answers it with {@code skill_unavailable} and {@link #reason()}.
 */
public class SkillUnavailableException extends WorkaException {
  private final String skill;
  private final String reason;

  public SkillUnavailableException(String skill, String reason) {
    super(
        "skill "
            + Objects.requireNonNull(skill, "skill")
            + " is unavailable: "
            + Objects.requireNonNull(reason, "reason"));
    this.skill = skill;
    this.reason = reason;
  }

  public String skill() {
    return skill;
  }

  /** Why, in words an operator can act on. */
  public String reason() {
    return reason;
  }
}
