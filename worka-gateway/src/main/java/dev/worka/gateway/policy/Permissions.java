package dev.worka.gateway.policy;

import java.util.Set;

/** The permissions a manifest may grant an agent. Any other name makes the manifest invalid. */
public final class Permissions {
  /** Submit a plan ({@code POST /v1/agent/plan}); only a planner may hold it. */
  public static final String PLAN_SUBMIT = "plan.submit";

  /** Ask the Gateway to invoke a skill on the agent's allowlist; workers only. */
  public static final String SKILL_INVOKE = "skill.invoke";

  /** Search the agent's own memory namespace. */
  public static final String MEMORY_SEARCH = "memory.search";

  /** Call the model through the Gateway's proxy. */
  public static final String MODEL_INVOKE = "model.invoke";

  /** Every known permission, in a stable order. */
  public static final Set<String> ALL =
      java.util.Collections.unmodifiableSortedSet(
          new java.util.TreeSet<>(Set.of(PLAN_SUBMIT, SKILL_INVOKE, MEMORY_SEARCH, MODEL_INVOKE)));

  /** Whether {@code name} is a permission this version knows. */
  static boolean isKnown(String name) {
    return name != null && ALL.contains(name);
  }

  private Permissions() {}
}
