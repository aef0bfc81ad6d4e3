package dev.worka.gateway.skill;

import dev.worka.gateway.error.WorkaException;
import java.util.Objects;

/**
 * A live skill call failed upstream. {@link #retryable()} says whether the same call may succeed
 * later (a timeout, a 5xx, a rate limit) or not (a 4xx, a refused input); it is data set by the
 * provider that knows the upstream, not a guess from the exception's class.
 */
public class SkillFailedException extends WorkaException {
  private final String skill;

  public SkillFailedException(String skill, String message, boolean retryable) {
    this(skill, message, retryable, null);
  }

  public SkillFailedException(String skill, String message, boolean retryable, Throwable cause) {
    super(
        "skill " + Objects.requireNonNull(skill, "skill") + " failed: " + message,
        cause,
        retryable);
    this.skill = skill;
  }

  public String skill() {
    return skill;
  }
}
