package dev.worka.gateway.policy;

import java.util.Optional;

/** What an agent is for: the one planner proposes plans; workers execute steps. */
public enum AgentRole {
  PLANNER("planner"),
  WORKER("worker");

  private final String wireName;

  AgentRole(String wireName) {
    this.wireName = wireName;
  }

  /** The name used in the manifest and in stored JSON ({@code planner}, {@code worker}). */
  public String wireName() {
    return wireName;
  }

  /** The role named {@code name} in a manifest, if it is one. */
  static Optional<AgentRole> fromWireName(String name) {
    for (AgentRole role : values()) {
      if (role.wireName.equals(name)) {
        return Optional.of(role);
      }
    }
    return Optional.empty();
  }
}
