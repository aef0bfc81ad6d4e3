package dev.worka.gateway.policy;

/**
 * What the manifest's {@code skills:} section says about one skill. Conditions ({@code when}) are
 * not part of this version: a manifest holding one is invalid, so none is silently ignored.
 *
 * @param sideEffect the operator's declaration that the skill changes the world
 */
public record SkillPolicy(String name, boolean sideEffect) {
  public SkillPolicy {
    if (!Names.isSkillName(name)) {
      throw new IllegalArgumentException(
          "skill name " + Names.shown(name) + " does not match " + Names.SKILL_PATTERN_TEXT);
    }
  }
}
