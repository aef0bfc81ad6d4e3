package dev.worka.gateway.policy;

import java.util.Optional;
import java.util.Set;

/**
 * What the policy compiler may know about skill inputs: the top-level property names of a skill's
 * input schema. With it, a condition that reads {@code input.ownr} of a skill whose input has no
 * {@code ownr} is a compile error instead of a deny on every call.
 *
 * <p>The policy package does not know the skill catalog (it sits below {@code skill}); the
 * composition root adapts the catalog to this interface.
 */
@FunctionalInterface
public interface SkillFields {

  /**
   * The names of the properties {@code skill}'s input may have, in the order they should be listed
   * in a message (an insertion-ordered set reads best), or empty when the skill is not known, in
   * which case {@code input.X} is not checked for that skill.
   */
  Optional<Set<String>> inputFields(String skill);

  /**
   * Whether this Gateway knows {@code skill}. A manifest that names a skill the Gateway does not
   * know (in an allowlist or under {@code skills:}) is invalid: a typo there would otherwise grant
   * or constrain nothing. Unchecked ({@code true}) by default.
   */
  default boolean knows(String skill) {
    return true;
  }

  /**
   * Knows no skill: input field names are not checked (what {@link PolicyCompiler#compile(String)}
   * uses).
   */
  static SkillFields unknown() {
    return skill -> Optional.empty();
  }
}
