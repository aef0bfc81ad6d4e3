package dev.worka.gateway.skill;

import java.util.List;

/**
 * A live call answered, but not with what the skill's output schema says it returns: the answer is
 * not passed on. For a side-effecting skill the effect happened all the same; {@link
 * #upstreamRef()} names it where the answer allowed. Not retryable: the same call would repeat it.
 */
public class SkillOutputInvalidException extends SkillFailedException {
  private final List<String> violations;
  private final String upstreamRef;

  public SkillOutputInvalidException(
      String skill, String upstream, List<String> violations, String upstreamRef) {
    super(
        skill,
        upstream
            + " answered with an output that does not match the skill's output schema: "
            + String.join("; ", violations.subList(0, Math.min(10, violations.size())))
            + (upstreamRef == null ? "" : " (its effect: " + upstreamRef + ")"),
        false);
    this.violations = List.copyOf(violations);
    this.upstreamRef = upstreamRef;
  }

  public List<String> violations() {
    return violations;
  }

  /** The effect's upstream reference, when the call had one and the answer named it; else null. */
  public String upstreamRef() {
    return upstreamRef;
  }
}
