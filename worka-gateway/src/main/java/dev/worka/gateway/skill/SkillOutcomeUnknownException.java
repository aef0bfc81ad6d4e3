package dev.worka.gateway.skill;

/**
 * A live call of a side-effecting skill ended without an answer (a timeout, a dropped connection
 * after the request was sent): the effect may or may not exist upstream. The Gateway records the
 * invocation as {@code unknown} and reconciles it before the call is ever performed again.
 */
public class SkillOutcomeUnknownException extends SkillFailedException {
  public SkillOutcomeUnknownException(String skill, String message, Throwable cause) {
    super(skill, message, false, cause);
  }
}
