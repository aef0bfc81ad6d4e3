package dev.worka.gateway.plan;

import java.util.Optional;

/**
 * What plan validation needs to know about skills, and nothing more. The composition root
 * implements it over the skill catalog, so this package never depends on {@code skill}.
 */
public interface SkillDirectory {

  /** Whether a skill of this name exists in the catalog. */
  boolean exists(String skill);

  /**
   * Why an existing skill cannot be used now (e.g. its provider is not configured in live mode), or
   * empty when it is available.
   */
  Optional<String> unavailableReason(String skill);
}
