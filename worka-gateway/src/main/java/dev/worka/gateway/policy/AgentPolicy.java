package dev.worka.gateway.policy;

import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * One agent as the policy declares it: its role, how it runs, its permissions, its skill allowlist
 * and the resources its worker may use (its own {@code resources:} over {@code limits.resources}
 * over {@link Resources#DEFAULTS}, key by key). The invariants the compiler reports with precise
 * messages hold here too, so a policy read back from the database cannot be wider than one the
 * compiler accepted.
 */
public record AgentPolicy(
    String name,
    AgentRole role,
    String description,
    boolean enabled,
    RuntimeSpec runtime,
    Set<String> permissions,
    List<String> skills,
    Resources resources) {

  /** An agent with the default resources ({@link Resources#DEFAULTS}). */
  public AgentPolicy(
      String name,
      AgentRole role,
      String description,
      boolean enabled,
      RuntimeSpec runtime,
      Set<String> permissions,
      List<String> skills) {
    this(name, role, description, enabled, runtime, permissions, skills, Resources.DEFAULTS);
  }

  public AgentPolicy {
    if (!Names.isAgentName(name)) {
      throw new IllegalArgumentException(
          "agent name " + Names.shown(name) + " does not match " + Names.AGENT_PATTERN_TEXT);
    }
    Objects.requireNonNull(role, "role of agent " + name);
    description = description == null ? "" : description;
    Objects.requireNonNull(runtime, "runtime of agent " + name);
    permissions =
        Collections.unmodifiableSortedSet(
            new TreeSet<>(Objects.requireNonNull(permissions, "permissions of agent " + name)));
    for (String permission : permissions) {
      if (!Permissions.isKnown(permission)) {
        throw new IllegalArgumentException(
            "agent " + name + ": unknown permission " + Names.shown(permission));
      }
    }
    skills = List.copyOf(Objects.requireNonNull(skills, "skills of agent " + name));
    Objects.requireNonNull(resources, "resources of agent " + name);
    Set<String> seen = new HashSet<>();
    for (String skill : skills) {
      if (!Names.isSkillName(skill) || !seen.add(skill)) {
        throw new IllegalArgumentException(
            "agent " + name + ": skill " + Names.shown(skill) + " is malformed or listed twice");
      }
    }
    switch (role) {
      case PLANNER -> {
        if (!permissions.contains(Permissions.PLAN_SUBMIT)
            || !skills.isEmpty()
            || permissions.contains(Permissions.SKILL_INVOKE)) {
          throw new IllegalArgumentException(
              "planner " + name + " must hold plan.submit, no skill.invoke and no skills");
        }
      }
      case WORKER -> {
        if (permissions.contains(Permissions.PLAN_SUBMIT)) {
          throw new IllegalArgumentException("worker " + name + " may not hold plan.submit");
        }
        if (!skills.isEmpty() && !permissions.contains(Permissions.SKILL_INVOKE)) {
          throw new IllegalArgumentException(
              "worker " + name + " has skills but not the skill.invoke permission");
        }
      }
    }
  }

  /** Whether the policy grants this agent {@code permission} (regardless of enabled). */
  boolean hasPermission(String permission) {
    return permission != null && permissions.contains(permission);
  }

  /** Whether {@code skill} is on this agent's allowlist (regardless of enabled). */
  public boolean allowsSkill(String skill) {
    return skill != null && skills.contains(skill);
  }
}
