package dev.worka.gateway.policy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * An immutable, validated policy: the agents in manifest order, the named lists, what the manifest
 * says about skills (with their compiled conditions), the limits, and who may start a run (its
 * {@code ingress}). It holds exactly one enabled planner. Safe to share between threads, conditions
 * included.
 *
 * <p>Stored in {@code policy_manifests.compiled} as RFC 8785 canonical JSON ({@link #toJson()},
 * {@link #fromJson(String)}); a run pinned to a version reads it back from there, never by
 * recompiling the manifest's YAML with a newer compiler. The one exception is a condition: it is
 * stored as its CEL text and compiled again when read (a CEL program has no stored form), with the
 * same checks except the input field names, which were checked when the manifest was activated.
 */
public record CompiledPolicy(
    Map<String, AgentPolicy> agents,
    Map<String, List<String>> lists,
    Map<String, SkillPolicy> skills,
    Limits limits,
    IngressPolicy ingress) {

  /**
   * A policy whose manifest states no {@code ingress:} (it takes {@link IngressPolicy#DEFAULTS}).
   */
  public CompiledPolicy(
      Map<String, AgentPolicy> agents,
      Map<String, List<String>> lists,
      Map<String, SkillPolicy> skills,
      Limits limits) {
    this(agents, lists, skills, limits, IngressPolicy.DEFAULTS);
  }

  public CompiledPolicy {
    agents = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(agents)));
    agents.forEach(
        (name, agent) -> {
          if (!name.equals(agent.name())) {
            throw new IllegalArgumentException("agent keyed " + name + " is named " + agent.name());
          }
        });
    Map<String, List<String>> listCopy = new LinkedHashMap<>();
    Objects.requireNonNull(lists)
        .forEach(
            (name, values) -> {
              if (!Names.isAgentName(name)) {
                throw new IllegalArgumentException(
                    "list name "
                        + Names.shown(name)
                        + " does not match "
                        + Names.AGENT_PATTERN_TEXT);
              }
              listCopy.put(name, List.copyOf(values));
            });
    lists = Collections.unmodifiableMap(listCopy);
    skills = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(skills)));
    Map<String, List<String>> declaredLists = lists;
    skills.forEach(
        (name, skill) -> {
          if (!name.equals(skill.name())) {
            throw new IllegalArgumentException("skill keyed " + name + " is named " + skill.name());
          }
          skill
              .when()
              .ifPresent(
                  condition -> {
                    for (String list : condition.referencedLists()) {
                      if (!declaredLists.containsKey(list)) {
                        throw new IllegalArgumentException(
                            "the condition of skill "
                                + name
                                + " reads lists."
                                + Names.shown(list)
                                + ", which the policy does not declare");
                      }
                    }
                  });
        });
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(ingress, "ingress");
    long planners =
        agents.values().stream().filter(a -> a.enabled() && a.role() == AgentRole.PLANNER).count();
    if (planners != 1) {
      throw new IllegalArgumentException(
          "a policy has exactly one enabled planner agent, this one has " + planners);
    }
  }

  /** The agent named {@code name}, if the policy declares it (enabled or not). */
  public Optional<AgentPolicy> agent(String name) {
    return name == null ? Optional.empty() : Optional.ofNullable(agents.get(name));
  }

  /**
   * The warning a Gateway logs while it serves this policy when a {@code process} agent declares a
   * resource limit (a value other than {@link Resources#DEFAULTS}, per agent or under {@code
   * limits.resources}) that nothing enforces on this host: no operator may believe a limit holds
   * that does not. Names, per agent, only such limits; empty when there is none.
   *
   * @param unenforcedHere the limits ({@code memory}, {@code cpu}, {@code pids}, {@code disk},
   *     {@code open_files}) the process runtime cannot enforce on this host
   */
  public Optional<String> unenforcedResources(java.util.Collection<String> unenforcedHere) {
    List<String> declared = new ArrayList<>();
    for (AgentPolicy agent : agents.values()) {
      if (agent.runtime().kind() != RuntimeKind.PROCESS) {
        continue;
      }
      Resources r = agent.resources();
      Resources d = Resources.DEFAULTS;
      List<String> names = new ArrayList<>();
      addIf(names, unenforcedHere, "memory", r.memoryBytes() != d.memoryBytes());
      addIf(names, unenforcedHere, "cpu", r.cpuMillis() != d.cpuMillis());
      addIf(names, unenforcedHere, "pids", r.pids() != d.pids());
      addIf(names, unenforcedHere, "disk", r.diskBytes() != d.diskBytes());
      addIf(names, unenforcedHere, "open_files", r.openFiles() != d.openFiles());
      if (!names.isEmpty()) {
        declared.add(agent.name() + " " + r + ": " + String.join(", ", names));
      }
    }
    if (declared.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        "the policy declares resources whose limits are NOT ENFORCED on this host ("
            + String.join("; ", declared)
            + "): they are validated and recorded with the policy version, but the process"
            + " runtime here has no means to enforce those (the Gateway's `worker limits:` line at"
            + " start says what enforces each); do not rely on them to contain a worker");
  }

  private static void addIf(
      List<String> names, java.util.Collection<String> unenforced, String limit, boolean declared) {
    if (declared && unenforced.contains(limit)) {
      names.add(limit);
    }
  }

  /** The one enabled planner: the agent that plans every run under this policy. */
  public AgentPolicy planner() {
    for (AgentPolicy agent : agents.values()) {
      if (agent.enabled() && agent.role() == AgentRole.PLANNER) {
        return agent;
      }
    }
    throw new IllegalStateException("a compiled policy without an enabled planner");
  }

  /**
   * Every skill the policy names, on an allowlist or under {@code skills:}, sorted. The composition
   * root checks that each exists in the skill catalog.
   */
  Set<String> referencedSkills() {
    Set<String> names = new TreeSet<>(skills.keySet());
    for (AgentPolicy agent : agents.values()) {
      names.addAll(agent.skills());
    }
    return Collections.unmodifiableSet(names);
  }

  /** The agents of a role, in manifest order (enabled or not). */
  List<AgentPolicy> agentsWithRole(AgentRole role) {
    List<AgentPolicy> out = new ArrayList<>();
    for (AgentPolicy agent : agents.values()) {
      if (agent.role() == role) {
        out.add(agent);
      }
    }
    return List.copyOf(out);
  }

  /** RFC 8785 canonical JSON; {@link #fromJson(String)} reads it back into an equal policy. */
  public String toJson() {
    return CompiledPolicyJson.write(this);
  }

  /**
   * Reads JSON written by {@link #toJson()} (in any key order or spacing, as PostgreSQL's jsonb
   * returns it).
   *
   * @throws IllegalArgumentException if the JSON is not a compiled policy of a known format
   */
  public static CompiledPolicy fromJson(String json) {
    return CompiledPolicyJson.read(json);
  }
}
