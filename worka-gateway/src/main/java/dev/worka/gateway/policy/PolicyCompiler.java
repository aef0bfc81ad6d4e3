package dev.worka.gateway.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Compiles a manifest (YAML, DESIGN §7) into a {@link CompiledPolicy}, or lists every error in it.
 * Each error names the manifest path and the problem, e.g. {@code agents.ernest.runtime: unknown
 * runtime 'docker' (expected process, kubernetes or wasm)}.
 *
 * <p>Strict on purpose: an unknown key at any level, an unknown permission, a value of the wrong
 * type or a limit out of bounds is an error, because a manifest is a complete policy and a typo
 * must not silently widen or narrow it.
 *
 * <p>A skill's condition ({@code when}) is compiled here, with the manifest: an expression that
 * does not parse, names an unknown variable, field, list or function, or is not of type {@code
 * bool} makes the whole manifest invalid, e.g. {@code skills.github.create_issue.when: 'input.ownr
 * == "x"': input has no field 'ownr' (github.create_issue takes owner, repo, title, body, labels,
 * assignees)}. Input field names are checked only with {@link #compile(String, SkillFields)}.
 */
public final class PolicyCompiler {
  private static final List<String> TOP_KEYS =
      List.of("agents", "lists", "skills", "limits", "ingress");
  private static final List<String> AGENT_KEYS =
      List.of(
          "role",
          "description",
          "enabled",
          "runtime",
          "command",
          "image",
          "runtime_class",
          "module",
          "module_sha256",
          "permissions",
          "skills",
          "resources");
  private static final List<String> SKILL_KEYS = List.of("side_effect", "when", "approval");
  private static final List<String> APPROVAL_KEYS = List.of("when", "approvers", "expires");
  private static final List<String> LIMIT_KEYS =
      List.of(
          "max_steps",
          "max_skill_calls_per_step",
          "max_skill_calls_per_run",
          "step_timeout",
          "max_attempts",
          "run_deadline",
          "max_concurrent_steps",
          "retry_backoff",
          "retry_backoff_max",
          "max_model_tokens_per_run",
          "resources");
  private static final List<String> INGRESS_KEYS = List.of("github", "slack", "quotas");
  private static final List<String> INGRESS_GITHUB_KEYS =
      List.of("author_associations", "repositories");
  private static final List<String> INGRESS_SLACK_KEYS = List.of("teams", "channels", "users");
  private static final List<String> INGRESS_QUOTA_KEYS =
      List.of("runs_per_requester_per_hour", "concurrent_runs_per_requester");

  static final int MAX_DESCRIPTION = 2000;
  static final int MAX_COMMAND_ARGS = 256;
  static final int MAX_ARG_LENGTH = 4096;
  static final int MAX_LIST_ITEMS = 10_000;
  static final int MAX_LIST_ITEM_LENGTH = 1024;

  private final List<String> errors = new ArrayList<>();
  private final SkillFields skillFields;

  /**
   * {@code limits.resources} over {@link Resources#DEFAULTS}: what an agent's own resources add to.
   */
  private Resources resourceDefaults = Resources.DEFAULTS;

  private PolicyCompiler(SkillFields skillFields) {
    this.skillFields = skillFields;
  }

  /**
   * Compiles {@code yamlSource}; never throws for any input. Conditions may read any field of
   * {@code input} (they are not checked against the skills' input schemas; see {@link
   * #compile(String, SkillFields)}).
   */
  public static Compilation compile(String yamlSource) {
    return compile(yamlSource, SkillFields.unknown());
  }

  /**
   * Compiles {@code yamlSource}, checking that each condition reads only fields of {@code input}
   * that the skill's input has, for the skills {@code skillFields} knows; never throws for any
   * input.
   */
  public static Compilation compile(String yamlSource, SkillFields skillFields) {
    if (yamlSource == null) {
      return new Compilation.Invalid(List.of("manifest: no source given"));
    }
    PolicyCompiler compiler =
        new PolicyCompiler(skillFields == null ? SkillFields.unknown() : skillFields);
    Optional<CompiledPolicy> policy =
        ManifestYaml.read(yamlSource, compiler.errors).flatMap(compiler::root);
    if (!compiler.errors.isEmpty() || policy.isEmpty()) {
      if (compiler.errors.isEmpty()) {
        compiler.errors.add("manifest: could not be compiled");
      }
      return new Compilation.Invalid(compiler.errors);
    }
    return new Compilation.Compiled(policy.get());
  }

  private Optional<CompiledPolicy> root(JsonNode tree) {
    if (!(tree instanceof ObjectNode root)) {
      errors.add(
          "manifest: expected a mapping with the keys "
              + String.join(", ", TOP_KEYS)
              + ", found "
              + kind(tree));
      return Optional.empty();
    }
    unknownKeys(root, "", TOP_KEYS);
    if (root.get("limits") instanceof ObjectNode limitsNode && limitsNode.has("resources")) {
      resourceDefaults =
          resources("limits.resources", limitsNode.get("resources"), Resources.DEFAULTS)
              .orElse(Resources.DEFAULTS);
    }
    Map<String, AgentPolicy> agents = agents(root.get("agents"));
    int beforeLists = errors.size();
    Map<String, List<String>> lists = lists(root.get("lists"));
    boolean listsRead = errors.size() == beforeLists;
    Map<String, SkillPolicy> skills = skills(root.get("skills"), lists.keySet(), listsRead);
    Optional<Limits> limits = limits(root.get("limits"));
    Optional<IngressPolicy> ingress = ingress(root.get("ingress"));
    if (!errors.isEmpty() || limits.isEmpty() || ingress.isEmpty()) {
      return Optional.empty();
    }
    for (AgentPolicy agent : agents.values()) {
      for (String skill : agent.skills()) {
        if (!skillFields.knows(skill)) {
          errors.add(
              "agents."
                  + agent.name()
                  + ".skills: skill "
                  + skill
                  + " is not known to this Gateway");
        }
      }
    }
    for (String skill : skills.keySet()) {
      if (!skillFields.knows(skill)) {
        errors.add("skills." + skill + ": skill " + skill + " is not known to this Gateway");
      }
    }
    if (!errors.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new CompiledPolicy(agents, lists, skills, limits.get(), ingress.get()));
    } catch (IllegalArgumentException e) {
      // Every invariant of the records is checked above with a precise message; reaching this is
      // a gap in those checks, still reported as an invalid manifest rather than a crash.
      errors.add("manifest: " + e.getMessage());
      return Optional.empty();
    }
  }

  // --- agents ---------------------------------------------------------------------------------

  private Map<String, AgentPolicy> agents(JsonNode node) {
    Map<String, AgentPolicy> agents = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      errors.add(
          "agents: required; a manifest declares every agent it allows, one of them the planner");
      return agents;
    }
    if (!(node instanceof ObjectNode map)) {
      errors.add("agents: expected a mapping of agent name to agent, found " + kind(node));
      return agents;
    }
    List<String> enabledPlanners = new ArrayList<>();
    boolean allAgentsRead = true;
    for (Map.Entry<String, JsonNode> entry : map.properties()) {
      String name = entry.getKey();
      String path = "agents." + Names.shown(name);
      if (!Names.isAgentName(name)) {
        errors.add(path + ": invalid agent name (expected " + Names.AGENT_PATTERN_TEXT + ")");
      }
      Optional<AgentPolicy> agent = agent(name, path, entry.getValue());
      if (agent.isPresent()) {
        agents.put(name, agent.get());
        if (agent.get().enabled() && agent.get().role() == AgentRole.PLANNER) {
          enabledPlanners.add(name);
        }
      } else {
        allAgentsRead = false;
      }
    }
    if (allAgentsRead && enabledPlanners.isEmpty()) {
      errors.add("agents: no enabled planner; exactly one agent must have role: planner");
    } else if (enabledPlanners.size() > 1) {
      errors.add(
          "agents: "
              + enabledPlanners.size()
              + " enabled planners ("
              + String.join(", ", enabledPlanners)
              + "); exactly one is allowed (disable the others with enabled: false)");
    }
    return agents;
  }

  private Optional<AgentPolicy> agent(String name, String path, JsonNode node) {
    if (!(node instanceof ObjectNode agent)) {
      errors.add(
          path + ": expected a mapping (role, runtime, permissions, ...), found " + kind(node));
      return Optional.empty();
    }
    int before = errors.size();
    unknownKeys(agent, path + ".", AGENT_KEYS);

    AgentRole role = AgentRole.WORKER;
    JsonNode roleNode = agent.get("role");
    if (roleNode != null) {
      Optional<String> roleName = text(roleNode, path + ".role");
      if (roleName.isPresent()) {
        Optional<AgentRole> parsed = AgentRole.fromWireName(roleName.get());
        if (parsed.isPresent()) {
          role = parsed.get();
        } else {
          errors.add(
              path
                  + ".role: unknown role "
                  + Names.quoted(roleName.get())
                  + " (expected planner or worker)");
        }
      }
    }

    String description = "";
    JsonNode descriptionNode = agent.get("description");
    if (descriptionNode != null && !descriptionNode.isNull()) {
      description = text(descriptionNode, path + ".description").orElse("");
      if (description.length() > MAX_DESCRIPTION) {
        errors.add(
            path
                + ".description: is "
                + description.length()
                + " characters; at most "
                + MAX_DESCRIPTION
                + " are allowed");
      }
    }

    boolean enabled = true;
    JsonNode enabledNode = agent.get("enabled");
    if (enabledNode != null) {
      if (enabledNode.isBoolean()) {
        enabled = enabledNode.booleanValue();
      } else {
        errors.add(path + ".enabled: expected true or false, found " + kind(enabledNode));
      }
    }

    Optional<RuntimeSpec> runtime = runtime(name, path, agent);
    Set<String> permissions = permissions(path + ".permissions", agent.get("permissions"));
    List<String> skills = skillList(path + ".skills", agent.get("skills"));
    Optional<Resources> resources =
        resources(path + ".resources", agent.get("resources"), resourceDefaults);

    switch (role) {
      case PLANNER -> {
        if (!permissions.contains(Permissions.PLAN_SUBMIT)) {
          errors.add(path + ".permissions: a planner needs plan.submit");
        }
        if (permissions.contains(Permissions.SKILL_INVOKE)) {
          errors.add(
              path
                  + ".permissions: a planner may not hold skill.invoke (planners propose plans;"
                  + " workers invoke skills)");
        }
        if (!skills.isEmpty()) {
          errors.add(
              path + ".skills: a planner has no skills (it proposes plans; workers invoke skills)");
        }
      }
      case WORKER -> {
        if (permissions.contains(Permissions.PLAN_SUBMIT)) {
          errors.add(path + ".permissions: plan.submit is only for the planner (role: planner)");
        }
        if (!skills.isEmpty() && !permissions.contains(Permissions.SKILL_INVOKE)) {
          errors.add(path + ".permissions: skill.invoke is required for an agent with skills");
        }
      }
    }
    if (errors.size() > before
        || runtime.isEmpty()
        || resources.isEmpty()
        || !Names.isAgentName(name)) {
      return Optional.empty();
    }
    return Optional.of(
        new AgentPolicy(
            name, role, description, enabled, runtime.get(), permissions, skills, resources.get()));
  }

  private Optional<RuntimeSpec> runtime(String name, String path, ObjectNode agent) {
    JsonNode kindNode = agent.get("runtime");
    if (kindNode == null || kindNode.isNull()) {
      errors.add(path + ".runtime: required (process, kubernetes or wasm)");
      return Optional.empty();
    }
    Optional<String> kindName = text(kindNode, path + ".runtime");
    if (kindName.isEmpty()) {
      return Optional.empty();
    }
    Optional<RuntimeKind> kind = RuntimeKind.fromWireName(kindName.get());
    if (kind.isEmpty()) {
      errors.add(
          path
              + ".runtime: unknown runtime "
              + Names.quoted(kindName.get())
              + " (expected process, kubernetes or wasm)");
      return Optional.empty();
    }
    int before = errors.size();
    JsonNode command = agent.get("command");
    JsonNode image = agent.get("image");
    JsonNode runtimeClass = agent.get("runtime_class");
    JsonNode module = agent.get("module");
    JsonNode moduleSha256 = agent.get("module_sha256");
    String runtimeName = kind.get().wireName();
    if (command != null && kind.get() != RuntimeKind.PROCESS) {
      errors.add(
          path
              + ".command: only used with runtime process (this agent's runtime is "
              + runtimeName
              + ")");
    }
    if (image != null && kind.get() != RuntimeKind.KUBERNETES) {
      errors.add(
          path
              + ".image: only used with runtime kubernetes (this agent's runtime is "
              + runtimeName
              + ")");
    }
    if (runtimeClass != null && kind.get() != RuntimeKind.KUBERNETES) {
      errors.add(
          path
              + ".runtime_class: only used with runtime kubernetes (this agent's runtime is "
              + runtimeName
              + ")");
    }
    if (module != null && kind.get() != RuntimeKind.WASM) {
      errors.add(
          path
              + ".module: only used with runtime wasm (this agent's runtime is "
              + runtimeName
              + ")");
    }
    if (moduleSha256 != null && kind.get() != RuntimeKind.WASM) {
      errors.add(
          path
              + ".module_sha256: only used with runtime wasm (this agent's runtime is "
              + runtimeName
              + ")");
    }
    return switch (kind.get()) {
      case PROCESS -> {
        if (command == null || command.isNull()) {
          errors.add(
              path
                  + ".command: required for runtime process (an argv list, e.g. [bin/worka-agent, "
                  + Names.shown(name)
                  + "])");
          yield Optional.empty();
        }
        if (command.isTextual()) {
          errors.add(
              path
                  + ".command: expected an argv list such as [bin/worka-agent, name], not a single"
                  + " string (no shell parses it)");
          yield Optional.empty();
        }
        List<String> argv = strings(path + ".command", command, MAX_COMMAND_ARGS, MAX_ARG_LENGTH);
        if (argv.isEmpty() && errors.size() == before) {
          errors.add(path + ".command: is empty; it needs at least the program to run");
        }
        yield errors.size() > before ? Optional.empty() : Optional.of(RuntimeSpec.process(argv));
      }
      case KUBERNETES -> {
        Optional<String> ref = single(path + ".image", image, "a container image reference", true);
        String className = null;
        if (runtimeClass != null) {
          Optional<String> given =
              single(
                  path + ".runtime_class",
                  runtimeClass,
                  "a RuntimeClass name (e.g. gvisor, kata)",
                  true);
          if (given.isPresent() && !RuntimeSpec.isRuntimeClass(given.get())) {
            errors.add(
                path
                    + ".runtime_class: "
                    + Names.quoted(given.get())
                    + " is not a RuntimeClass name (lower-case letters, digits, '-' and '.')");
          }
          className = given.orElse(null);
        }
        String chosenClass = className;
        yield ref.filter(x -> errors.size() == before)
            .map(i -> RuntimeSpec.kubernetes(i, chosenClass));
      }
      case WASM -> {
        Optional<String> file =
            single(path + ".module", module, "the path of a WASI module", false);
        Optional<String> sha256 = moduleSha256(path + ".module_sha256", moduleSha256);
        yield errors.size() > before || file.isEmpty() || sha256.isEmpty()
            ? Optional.empty()
            : Optional.of(RuntimeSpec.wasm(file.get(), sha256.get()));
      }
    };
  }

  /**
   * A wasm module's pinned sha256: required, 64 lowercase hex digits (what {@code sha256sum}
   * prints), so the bytes a worker runs are the bytes the operator reviewed.
   */
  private Optional<String> moduleSha256(String path, JsonNode node) {
    if (node == null || node.isNull()) {
      errors.add(
          path
              + ": required for runtime wasm (the module's sha256, 64 lowercase hex digits: run"
              + " sha256sum on the module)");
      return Optional.empty();
    }
    if (!node.isTextual()) {
      errors.add(
          path
              + ": "
              + Names.quoted(node.toString())
              + " is not a sha256: write it as a quoted string, module_sha256: \"<64 lowercase"
              + " hex digits>\" (unquoted, YAML may read it as a number)");
      return Optional.empty();
    }
    if (!node.asText().matches("[0-9a-f]{64}")) {
      errors.add(
          path
              + ": "
              + Names.quoted(node.asText())
              + " is not a sha256 (64 lowercase hex digits, as sha256sum prints it)");
      return Optional.empty();
    }
    return Optional.of(node.asText());
  }

  private Optional<String> single(String path, JsonNode node, String what, boolean noSpaces) {
    if (node == null || node.isNull()) {
      errors.add(path + ": required for this runtime (" + what + ")");
      return Optional.empty();
    }
    Optional<String> value = text(node, path);
    if (value.isEmpty()) {
      return Optional.empty();
    }
    String v = value.get();
    if (v.isBlank()) {
      errors.add(path + ": is empty; expected " + what);
      return Optional.empty();
    }
    if (v.length() > MAX_ARG_LENGTH
        || (noSpaces && v.chars().anyMatch(Character::isWhitespace))
        || v.chars().anyMatch(Character::isISOControl)) {
      errors.add(path + ": " + Names.quoted(v) + " is not " + what);
      return Optional.empty();
    }
    return value;
  }

  private Set<String> permissions(String path, JsonNode node) {
    Set<String> out = new LinkedHashSet<>();
    if (node == null || node.isNull()) {
      return out;
    }
    List<String> names = strings(path, node, 64, 128);
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      if (!Permissions.isKnown(name)) {
        errors.add(
            path
                + "["
                + i
                + "]: unknown permission "
                + Names.quoted(name)
                + " (expected one of "
                + String.join(", ", Permissions.ALL)
                + ")");
      } else if (!out.add(name)) {
        errors.add(path + "[" + i + "]: " + name + " is listed twice");
      }
    }
    return out;
  }

  private List<String> skillList(String path, JsonNode node) {
    List<String> out = new ArrayList<>();
    if (node == null || node.isNull()) {
      return out;
    }
    List<String> names = strings(path, node, 1024, Names.MAX_SKILL_NAME + 1);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      if (!Names.isSkillName(name)) {
        errors.add(
            path
                + "["
                + i
                + "]: invalid skill name "
                + Names.quoted(name)
                + " (expected provider.action, "
                + Names.SKILL_PATTERN_TEXT
                + ")");
      } else if (!seen.add(name)) {
        errors.add(path + "[" + i + "]: " + name + " is listed twice");
      } else {
        out.add(name);
      }
    }
    return out;
  }

  // --- lists ----------------------------------------------------------------------------------

  private Map<String, List<String>> lists(JsonNode node) {
    Map<String, List<String>> lists = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return lists;
    }
    if (!(node instanceof ObjectNode map)) {
      errors.add(
          "lists: expected a mapping of list name to a list of strings, found " + kind(node));
      return lists;
    }
    for (Map.Entry<String, JsonNode> entry : map.properties()) {
      String path = "lists." + Names.shown(entry.getKey());
      if (!Names.isAgentName(entry.getKey())) {
        errors.add(path + ": invalid list name (expected " + Names.AGENT_PATTERN_TEXT + ")");
        continue;
      }
      if (entry.getValue() == null || entry.getValue().isNull()) {
        errors.add(
            path + ": expected a list of strings, found nothing (write [] for an empty list)");
        continue;
      }
      lists.put(
          entry.getKey(), strings(path, entry.getValue(), MAX_LIST_ITEMS, MAX_LIST_ITEM_LENGTH));
    }
    return lists;
  }

  // --- skills ---------------------------------------------------------------------------------

  /**
   * @param lists the names of the lists the manifest declares
   * @param listsRead whether the lists section was read without errors; if not, a condition that
   *     names a list the section failed to declare is not reported a second time
   */
  private Map<String, SkillPolicy> skills(JsonNode node, Set<String> lists, boolean listsRead) {
    Map<String, SkillPolicy> skills = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return skills;
    }
    if (!(node instanceof ObjectNode map)) {
      errors.add("skills: expected a mapping of skill name to its settings, found " + kind(node));
      return skills;
    }
    for (Map.Entry<String, JsonNode> entry : map.properties()) {
      String name = entry.getKey();
      String path = "skills." + Names.shown(name);
      boolean valid = true;
      if (!Names.isSkillName(name)) {
        errors.add(
            path
                + ": invalid skill name (expected provider.action, "
                + Names.SKILL_PATTERN_TEXT
                + ")");
        valid = false;
      }
      JsonNode value = entry.getValue();
      boolean sideEffect = false;
      Optional<SkillCondition> when = Optional.empty();
      Optional<ApprovalPolicy> approval = Optional.empty();
      if (value != null && !value.isNull()) {
        if (!(value instanceof ObjectNode settings)) {
          errors.add(
              path + ": expected a mapping (side_effect, when, approval), found " + kind(value));
          continue;
        }
        unknownKeys(settings, path + ".", SKILL_KEYS);
        JsonNode sideEffectNode = settings.get("side_effect");
        if (sideEffectNode != null) {
          if (sideEffectNode.isBoolean()) {
            sideEffect = sideEffectNode.booleanValue();
          } else {
            errors.add(
                path + ".side_effect: expected true or false, found " + kind(sideEffectNode));
            valid = false;
          }
        }
        if (settings.has("when")) {
          when = condition(name, path + ".when", settings.get("when"), lists, listsRead);
          valid &= when.isPresent();
        }
        if (settings.has("approval")) {
          approval = approval(name, path + ".approval", settings.get("approval"), lists, listsRead);
          valid &= approval.isPresent();
        }
      }
      if (valid) {
        skills.put(name, new SkillPolicy(name, sideEffect, when, approval));
      }
    }
    return skills;
  }

  /**
   * Compiles a skill's {@code when}; errors read {@code skills.NAME.when: 'EXPRESSION': PROBLEM}. A
   * skill with an invalid name is not compiled (its name error is already reported).
   */
  private Optional<SkillCondition> condition(
      String skill, String path, JsonNode node, Set<String> lists, boolean listsRead) {
    if (node == null || node.isNull()) {
      errors.add(
          path
              + ": expected a CEL expression that is true or false, found nothing (remove when for"
              + " no condition)");
      return Optional.empty();
    }
    if (!node.isTextual()) {
      errors.add(
          path
              + ": expected a CEL expression as a string, found "
              + kind(node)
              + (node.isValueNode() ? " (quote it)" : ""));
      return Optional.empty();
    }
    if (!Names.isSkillName(skill)) {
      return Optional.empty();
    }
    String expression = node.textValue();
    Optional<Set<String>> inputFields = inputFields(skill);
    return switch (ConditionCompiler.compile(skill, expression, lists, inputFields)) {
      case ConditionCompiler.Compiled c -> Optional.of(c.condition());
      case ConditionCompiler.Failed f -> {
        String shown =
            expression.isBlank() || expression.length() > ConditionCompiler.MAX_LENGTH
                ? ""
                : " '" + ConditionCompiler.oneLine(expression, 120) + "'";
        for (String problem : f.problems()) {
          // With errors in the lists section, a list it failed to declare is already reported.
          if (listsRead || !problem.startsWith("lists has no list ")) {
            errors.add(path + ":" + shown + (shown.isEmpty() ? " " : ": ") + problem);
          }
        }
        yield Optional.empty();
      }
    };
  }

  /**
   * Compiles a skill's {@code approval: {when, approvers, expires}}; every problem is an error
   * naming its path ({@code skills.NAME.approval.approvers: ...}).
   */
  private Optional<ApprovalPolicy> approval(
      String skill, String path, JsonNode node, Set<String> lists, boolean listsRead) {
    if (!(node instanceof ObjectNode settings)) {
      errors.add(
          path
              + ": expected a mapping {when (optional), approvers: [operator, slack:U…, github:LOGIN],"
              + " expires: 5s..7d}, found "
              + kind(node));
      return Optional.empty();
    }
    int before = errors.size();
    unknownKeys(settings, path + ".", APPROVAL_KEYS);
    Optional<SkillCondition> when = Optional.empty();
    if (settings.has("when")) {
      when = condition(skill, path + ".when", settings.get("when"), lists, listsRead);
    }
    List<String> approvers = new ArrayList<>();
    JsonNode approversNode = settings.get("approvers");
    if (approversNode == null || !approversNode.isArray() || approversNode.isEmpty()) {
      errors.add(
          path
              + ".approvers: expected a non-empty list of who may decide (operator, slack:USER_ID,"
              + " github:LOGIN), found "
              + (approversNode == null ? "nothing" : kind(approversNode)));
    } else if (approversNode.size() > ApprovalPolicy.MAX_APPROVERS) {
      errors.add(path + ".approvers: more than " + ApprovalPolicy.MAX_APPROVERS + " approvers");
    } else {
      for (JsonNode a : approversNode) {
        String problem = a.isTextual() ? ApprovalPolicy.approverProblem(a.textValue()) : null;
        if (!a.isTextual()) {
          errors.add(path + ".approvers: expected text, found " + kind(a));
        } else if (problem != null) {
          errors.add(path + ".approvers: " + problem);
        } else if (approvers.contains(a.textValue())) {
          errors.add(path + ".approvers: " + Names.shown(a.textValue()) + " is named twice");
        } else {
          approvers.add(a.textValue());
        }
      }
    }
    Duration expires = null;
    JsonNode expiresNode = settings.get("expires");
    if (expiresNode == null || !expiresNode.isTextual()) {
      errors.add(
          path
              + ".expires: expected a duration from 5s to 7d, such as 30m or 1h, found "
              + (expiresNode == null ? "nothing" : kind(expiresNode)));
    } else {
      Optional<Duration> parsed = DurationText.parse(expiresNode.textValue());
      if (parsed.isEmpty()) {
        errors.add(
            path
                + ".expires: "
                + Names.quoted(expiresNode.textValue())
                + " is not a duration (expected e.g. 30m, 1h, 2d; units ms, s, m, h, d)");
      } else if (parsed.get().compareTo(ApprovalPolicy.MIN_EXPIRES) < 0
          || parsed.get().compareTo(ApprovalPolicy.MAX_EXPIRES) > 0) {
        errors.add(
            path
                + ".expires: "
                + DurationText.format(parsed.get())
                + " is out of bounds (5s to 7d)");
      } else {
        expires = parsed.get();
      }
    }
    if (errors.size() != before || expires == null) {
      return Optional.empty();
    }
    return Optional.of(new ApprovalPolicy(when, approvers, expires));
  }

  /** The skill's input field names from {@link SkillFields}; a failing lookup checks nothing. */
  private Optional<Set<String>> inputFields(String skill) {
    try {
      Optional<Set<String>> fields = skillFields.inputFields(skill);
      return fields == null ? Optional.empty() : fields.map(LinkedHashSet::new);
    } catch (RuntimeException e) {
      errors.add(
          "skills."
              + skill
              + ".when: the input fields of "
              + skill
              + " could not be looked up ("
              + ManifestYaml.oneLine(e.getMessage())
              + ")");
      return Optional.empty();
    }
  }

  // --- limits ---------------------------------------------------------------------------------

  private Optional<Limits> limits(JsonNode node) {
    Limits d = Limits.DEFAULTS;
    if (node == null || node.isNull()) {
      return Optional.of(d);
    }
    if (!(node instanceof ObjectNode map)) {
      errors.add(
          "limits: expected a mapping ("
              + String.join(", ", LIMIT_KEYS)
              + "), found "
              + kind(node));
      return Optional.empty();
    }
    int before = errors.size();
    unknownKeys(map, "limits.", LIMIT_KEYS);
    int maxSteps = count(map, "max_steps", d.maxSteps(), Limits.MAX_STEPS);
    int perStep =
        count(
            map,
            "max_skill_calls_per_step",
            d.maxSkillCallsPerStep(),
            Limits.MAX_SKILL_CALLS_PER_STEP);
    int perRun =
        count(
            map,
            "max_skill_calls_per_run",
            d.maxSkillCallsPerRun(),
            Limits.MAX_SKILL_CALLS_PER_RUN);
    Duration stepTimeout = duration(map, "step_timeout", d.stepTimeout(), Limits.MAX_STEP_TIMEOUT);
    int attempts = count(map, "max_attempts", d.maxAttempts(), Limits.MAX_ATTEMPTS);
    Duration runDeadline = duration(map, "run_deadline", d.runDeadline(), Limits.MAX_RUN_DEADLINE);
    int concurrent =
        count(map, "max_concurrent_steps", d.maxConcurrentSteps(), Limits.MAX_CONCURRENT_STEPS);
    Duration backoff =
        duration(
            map,
            "retry_backoff",
            d.retryBackoff(),
            Limits.MIN_RETRY_BACKOFF,
            Limits.MAX_RETRY_BACKOFF);
    Duration backoffMax =
        duration(
            map,
            "retry_backoff_max",
            d.retryBackoffMax(),
            Limits.MIN_RETRY_BACKOFF,
            Limits.MAX_RETRY_BACKOFF);
    int modelTokens =
        count(
            map,
            "max_model_tokens_per_run",
            d.maxModelTokensPerRun(),
            Limits.MAX_MODEL_TOKENS_PER_RUN);
    if (errors.size() > before) {
      return Optional.empty();
    }
    if (perStep > perRun) {
      errors.add(
          "limits.max_skill_calls_per_step: "
              + perStep
              + " exceeds limits.max_skill_calls_per_run "
              + perRun);
    }
    if (stepTimeout.compareTo(runDeadline) > 0) {
      errors.add(
          "limits.step_timeout: "
              + DurationText.format(stepTimeout)
              + " is longer than limits.run_deadline "
              + DurationText.format(runDeadline));
    }
    if (backoff.compareTo(backoffMax) > 0) {
      errors.add(
          "limits.retry_backoff: "
              + DurationText.format(backoff)
              + " is longer than limits.retry_backoff_max "
              + DurationText.format(backoffMax));
    }
    if (errors.size() > before) {
      return Optional.empty();
    }
    return Optional.of(
        new Limits(
            maxSteps,
            perStep,
            perRun,
            stepTimeout,
            attempts,
            runDeadline,
            concurrent,
            backoff,
            backoffMax,
            modelTokens));
  }

  private int count(ObjectNode map, String key, int fallback, int max) {
    return count("limits.", map, key, fallback, max);
  }

  private int count(String prefix, ObjectNode map, String key, int fallback, int max) {
    JsonNode node = map.get(key);
    if (node == null) {
      return fallback;
    }
    String path = prefix + key;
    if (!node.isIntegralNumber() || !node.canConvertToInt()) {
      errors.add(path + ": expected a whole number from 1 to " + max + ", found " + kind(node));
      return fallback;
    }
    int value = node.intValue();
    if (value < 1 || value > max) {
      errors.add(path + ": " + value + " is out of bounds (1 to " + max + ")");
      return fallback;
    }
    return value;
  }

  private Duration duration(ObjectNode map, String key, Duration fallback, Duration max) {
    return duration(map, key, fallback, Limits.MIN_DURATION, max);
  }

  private Duration duration(
      ObjectNode map, String key, Duration fallback, Duration min, Duration max) {
    JsonNode node = map.get(key);
    if (node == null) {
      return fallback;
    }
    String path = "limits." + key;
    if (!node.isTextual()) {
      errors.add(
          path
              + ": expected a duration with a unit, such as 120s, 2m or 1h30m, found "
              + kind(node)
              + (node.isNumber() ? " (a bare number is ambiguous)" : ""));
      return fallback;
    }
    Optional<Duration> parsed = DurationText.parse(node.textValue());
    if (parsed.isEmpty()) {
      errors.add(
          path
              + ": "
              + Names.quoted(node.textValue())
              + " is not a duration (expected e.g. 120s, 2m, 1h30m; units ms, s, m, h, d)");
      return fallback;
    }
    Duration value = parsed.get();
    if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      errors.add(
          path
              + ": "
              + DurationText.format(value)
              + " is out of bounds ("
              + DurationText.format(min)
              + " to "
              + DurationText.format(max)
              + ")");
      return fallback;
    }
    return value;
  }

  // --- resources ------------------------------------------------------------------------------

  /**
   * {@code agents.NAME.resources} or {@code limits.resources} at {@code path}: each key it states
   * replaces the one of {@code base}; absent, it is {@code base}. A YAML null ({@code resources:}
   * with nothing) is refused, since it reads like "no limits".
   */
  private Optional<Resources> resources(String path, JsonNode node, Resources base) {
    if (node == null) {
      return Optional.of(base);
    }
    if (!(node instanceof ObjectNode map)) {
      errors.add(
          path
              + ": expected a mapping ("
              + String.join(", ", Resources.KEYS)
              + "), found "
              + kind(node)
              + (node.isNull() ? " (remove the key for the defaults)" : ""));
      return Optional.empty();
    }
    int before = errors.size();
    unknownKeys(map, path + ".", Resources.KEYS);
    long memory =
        bytes(path, map, "memory", base.memoryBytes(), Resources.MIN_MEMORY, Resources.MAX_MEMORY);
    int cpu = cpu(path, map, base.cpuMillis());
    int pids = bounded(path, map, "pids", base.pids(), Resources.MIN_PIDS, Resources.MAX_PIDS);
    long disk = bytes(path, map, "disk", base.diskBytes(), Resources.MIN_DISK, Resources.MAX_DISK);
    int openFiles =
        bounded(
            path,
            map,
            "open_files",
            base.openFiles(),
            Resources.MIN_OPEN_FILES,
            Resources.MAX_OPEN_FILES);
    if (errors.size() > before) {
      return Optional.empty();
    }
    return Optional.of(new Resources(memory, cpu, pids, disk, openFiles));
  }

  /** A byte quantity: {@code 512Mi}, {@code 64Ki}, {@code 1Gi} or a plain number of bytes. */
  private long bytes(String prefix, ObjectNode map, String key, long fallback, long min, long max) {
    JsonNode node = map.get(key);
    if (node == null) {
      return fallback;
    }
    String path = prefix + "." + key;
    Optional<Long> value = Optional.empty();
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      value = Optional.of(node.longValue());
    } else if (node.isTextual()) {
      value = Resources.parseBytes(node.textValue());
    }
    if (value.isEmpty()) {
      errors.add(
          path
              + ": "
              + (node.isTextual() ? Names.quoted(node.textValue()) : kind(node))
              + " is not a quantity (use e.g. 512Mi: a whole number with Ki, Mi or Gi, or plain"
              + " bytes)");
      return fallback;
    }
    if (value.get() < min || value.get() > max) {
      errors.add(
          path
              + ": "
              + Resources.bytesText(value.get())
              + " is out of bounds ("
              + Resources.bytesText(min)
              + " to "
              + Resources.bytesText(max)
              + ")");
      return fallback;
    }
    return value.get();
  }

  /** A cpu quantity in cores or millicores: {@code "1"}, {@code "0.5"}, {@code "500m"}. */
  private int cpu(String prefix, ObjectNode map, int fallback) {
    JsonNode node = map.get("cpu");
    if (node == null) {
      return fallback;
    }
    String path = prefix + ".cpu";
    Optional<Integer> value =
        node.isTextual() || node.isNumber() ? Resources.parseCpu(node.asText()) : Optional.empty();
    if (value.isEmpty()) {
      errors.add(
          path
              + ": "
              + (node.isTextual() ? Names.quoted(node.textValue()) : kind(node))
              + " is not a cpu quantity (use e.g. \"1\", \"0.5\" or 500m: cores with at most"
              + " three decimals, or millicores)");
      return fallback;
    }
    if (value.get() < Resources.MIN_CPU_MILLIS || value.get() > Resources.MAX_CPU_MILLIS) {
      errors.add(
          path
              + ": "
              + Resources.cpuText(value.get())
              + " is out of bounds ("
              + Resources.cpuText(Resources.MIN_CPU_MILLIS)
              + " to "
              + Resources.cpuText(Resources.MAX_CPU_MILLIS)
              + ")");
      return fallback;
    }
    return value.get();
  }

  private int bounded(String prefix, ObjectNode map, String key, int fallback, int min, int max) {
    JsonNode node = map.get(key);
    if (node == null) {
      return fallback;
    }
    String path = prefix + "." + key;
    if (!node.isIntegralNumber() || !node.canConvertToInt()) {
      errors.add(
          path + ": expected a whole number from " + min + " to " + max + ", found " + kind(node));
      return fallback;
    }
    int value = node.intValue();
    if (value < min || value > max) {
      errors.add(path + ": " + value + " is out of bounds (" + min + " to " + max + ")");
      return fallback;
    }
    return value;
  }

  // --- ingress --------------------------------------------------------------------------------

  /** {@code ingress:}: who may start a run (absent: {@link IngressPolicy#DEFAULTS}). */
  private Optional<IngressPolicy> ingress(JsonNode node) {
    IngressPolicy d = IngressPolicy.DEFAULTS;
    if (node == null || node.isNull()) {
      return Optional.of(d);
    }
    if (!(node instanceof ObjectNode map)) {
      errors.add(
          "ingress: expected a mapping ("
              + String.join(", ", INGRESS_KEYS)
              + "), found "
              + kind(node));
      return Optional.empty();
    }
    int before = errors.size();
    unknownKeys(map, "ingress.", INGRESS_KEYS);

    IngressPolicy.Github github = d.github();
    ObjectNode g = section(map, "github", INGRESS_GITHUB_KEYS);
    if (g != null) {
      List<String> associations = github.authorAssociations();
      if (g.has("author_associations")) {
        associations =
            ids(
                "ingress.github.author_associations",
                g.get("author_associations"),
                IngressPolicy.AUTHOR_ASSOCIATIONS::contains,
                "an author association (one of "
                    + String.join(", ", IngressPolicy.AUTHOR_ASSOCIATIONS)
                    + ", upper-case as GitHub sends them)");
      }
      Optional<List<String>> repositories = Optional.empty();
      if (g.has("repositories")) {
        repositories =
            Optional.of(
                ids(
                    "ingress.github.repositories",
                    g.get("repositories"),
                    r -> IngressPolicy.REPOSITORY.matcher(r).matches(),
                    "a repository as owner/name (e.g. acme/widgets)"));
      }
      if (errors.size() == before) {
        github = new IngressPolicy.Github(associations, repositories);
      }
    }

    IngressPolicy.Slack slack = d.slack();
    ObjectNode s = section(map, "slack", INGRESS_SLACK_KEYS);
    if (s != null) {
      Optional<List<String>> teams =
          optionalIds(
              s,
              "teams",
              IngressPolicy.SLACK_TEAM,
              "a Slack workspace (team) id such as T0123ABCD, or an Enterprise Grid organization id (E…)");
      Optional<List<String>> channels =
          optionalIds(
              s,
              "channels",
              IngressPolicy.SLACK_CHANNEL,
              "a Slack conversation id such as C0123ABCD (channels C…, private channels G…, direct messages D…)");
      Optional<List<String>> users =
          optionalIds(
              s,
              "users",
              IngressPolicy.SLACK_USER,
              "a Slack user id such as U0123ABCD (or W… in Enterprise Grid)");
      if (errors.size() == before) {
        slack = new IngressPolicy.Slack(teams, channels, users);
      }
    }

    IngressPolicy.Quotas quotas = d.quotas();
    ObjectNode q = section(map, "quotas", INGRESS_QUOTA_KEYS);
    if (q != null) {
      int perHour =
          count(
              "ingress.quotas.",
              q,
              "runs_per_requester_per_hour",
              quotas.runsPerRequesterPerHour(),
              IngressPolicy.Quotas.MAX_RUNS_PER_HOUR);
      int concurrent =
          count(
              "ingress.quotas.",
              q,
              "concurrent_runs_per_requester",
              quotas.concurrentRunsPerRequester(),
              IngressPolicy.Quotas.MAX_CONCURRENT_RUNS);
      if (errors.size() == before) {
        quotas = new IngressPolicy.Quotas(perHour, concurrent);
      }
    }
    if (errors.size() > before) {
      return Optional.empty();
    }
    return Optional.of(new IngressPolicy(github, slack, quotas));
  }

  /**
   * {@code ingress.NAME} as a mapping with {@code keys} (unknown ones reported), or null when it is
   * absent or empty (its defaults) or not a mapping (reported).
   */
  private ObjectNode section(ObjectNode ingress, String name, List<String> keys) {
    JsonNode node = ingress.get(name);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!(node instanceof ObjectNode map)) {
      errors.add(
          "ingress."
              + name
              + ": expected a mapping ("
              + String.join(", ", keys)
              + "), found "
              + kind(node));
      return null;
    }
    unknownKeys(map, "ingress." + name + ".", keys);
    return map;
  }

  private Optional<List<String>> optionalIds(
      ObjectNode section, String key, java.util.regex.Pattern valid, String what) {
    if (!section.has(key)) {
      return Optional.empty();
    }
    return Optional.of(
        ids("ingress.slack." + key, section.get(key), v -> valid.matcher(v).matches(), what));
  }

  /**
   * A list of ids, each one {@code valid}, none twice. Absent in the manifest means "no
   * restriction"; a YAML null ({@code key:} with nothing) is refused, since it reads like either.
   */
  private List<String> ids(
      String path, JsonNode node, java.util.function.Predicate<String> valid, String what) {
    if (node == null || node.isNull()) {
      errors.add(
          path
              + ": expected a list, found nothing (remove the key for no restriction, or write []"
              + " to refuse everyone)");
      return List.of();
    }
    List<String> values = strings(path, node, MAX_LIST_ITEMS, MAX_LIST_ITEM_LENGTH);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      if (!valid.test(v)) {
        errors.add(path + "[" + i + "]: " + Names.quoted(v) + " is not " + what);
      } else if (out.contains(v)) {
        errors.add(path + "[" + i + "]: " + v + " is listed twice");
      } else {
        out.add(v);
      }
    }
    return out;
  }

  // --- shared ---------------------------------------------------------------------------------

  private void unknownKeys(ObjectNode map, String prefix, List<String> known) {
    for (Map.Entry<String, JsonNode> entry : map.properties()) {
      if (!known.contains(entry.getKey())) {
        errors.add(
            prefix
                + Names.shown(entry.getKey())
                + ": unknown key (expected "
                + String.join(", ", known)
                + ")");
      }
    }
  }

  private Optional<String> text(JsonNode node, String path) {
    if (node != null && node.isTextual()) {
      return Optional.of(node.textValue());
    }
    errors.add(path + ": expected a string, found " + kind(node));
    return Optional.empty();
  }

  /** A list of strings; numbers and booleans must be quoted so YAML does not reinterpret them. */
  private List<String> strings(String path, JsonNode node, int maxItems, int maxLength) {
    List<String> out = new ArrayList<>();
    if (node == null || !node.isArray()) {
      errors.add(path + ": expected a list, found " + kind(node));
      return out;
    }
    if (node.size() > maxItems) {
      errors.add(path + ": has " + node.size() + " items; at most " + maxItems + " are allowed");
      return out;
    }
    for (int i = 0; i < node.size(); i++) {
      JsonNode item = node.get(i);
      String itemPath = path + "[" + i + "]";
      if (!item.isTextual()) {
        errors.add(
            itemPath
                + ": expected a string, found "
                + kind(item)
                + (item.isValueNode() && !item.isNull() ? " (quote it)" : ""));
      } else if (item.textValue().isEmpty()) {
        errors.add(itemPath + ": is empty");
      } else if (item.textValue().length() > maxLength) {
        errors.add(
            itemPath
                + ": is "
                + item.textValue().length()
                + " characters; at most "
                + maxLength
                + " are allowed");
      } else {
        out.add(item.textValue());
      }
    }
    return out;
  }

  private static String kind(JsonNode node) {
    if (node == null || node.isMissingNode() || node.isNull()) {
      return "nothing";
    }
    if (node.isObject()) {
      return "a mapping";
    } else if (node.isArray()) {
      return "a list";
    } else if (node.isBoolean()) {
      return "the boolean " + node.asText();
    } else if (node.isNumber()) {
      return "the number " + node.asText();
    } else if (node.isTextual()) {
      return "the string " + Names.quoted(node.textValue());
    }
    return "a " + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }
}
