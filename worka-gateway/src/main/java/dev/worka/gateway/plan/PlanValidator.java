package dev.worka.gateway.plan;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.policy.AgentRole;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.store.Sha256;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.erdtman.jcs.JsonCanonicalizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a planner's proposal may become steps (DESIGN §6, the plan schema's description).
 * Every violation is collected, in this order of checks: body size, JSON syntax (strict: duplicate
 * keys, trailing content and nesting beyond {@value Json#MAX_NESTING_DEPTH} are errors), the JSON
 * Schema, text normalization, then the plan against the run's policy and the skill directory: step
 * count, duplicate, dangling and self dependencies, cycles, agents, skills and their availability.
 *
 * <p>Never throws for any input string: an unexpected failure inside is logged and the plan is
 * rejected (fail closed).
 */
public final class PlanValidator {
  /** The protocol's plan schema, loaded with the class (a broken one fails at start). */
  private static final ProtocolSchema PLAN_SCHEMA =
      ProtocolSchema.load(dev.worka.protocol.Plan.SCHEMA_RESOURCE);

  /** Largest plan body accepted, in UTF-8 bytes; larger bodies are rejected before parsing. */
  public static final int MAX_BODY_BYTES = 256 * 1024;

  static final int MAX_SUMMARY = 2000;
  static final int MAX_OBJECTIVE = 4000;
  static final int MAX_STEPS_CHECKED = 64;
  static final String INTERNAL_ERROR =
      "the plan could not be validated because of an internal error; it is rejected";

  private static final Logger log = LoggerFactory.getLogger(PlanValidator.class);
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,63}");
  private static final Pattern SKILL = Pattern.compile("[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*");
  private static final String NAME_PATTERN = "^[a-z][a-z0-9_-]{0,63}$";
  private static final String SKILL_PATTERN = "^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$";
  private static final int MAX_SKILL_LENGTH = 128;

  private final SkillDirectory skills;

  public PlanValidator(SkillDirectory skills) {
    this.skills = Objects.requireNonNull(skills, "skills");
  }

  /**
   * Validates {@code rawJson} (the request body, as received) against {@code policy} (the run's
   * pinned policy). Never throws for any {@code rawJson}, including null.
   */
  public PlanValidation validate(String rawJson, CompiledPolicy policy) {
    Objects.requireNonNull(policy, "policy");
    try {
      return check(rawJson, policy);
    } catch (RuntimeException e) {
      log.error("plan validation failed unexpectedly; the plan is rejected", e);
      return new PlanValidation.Rejected(List.of(INTERNAL_ERROR));
    }
  }

  /** A step as proposed; a field is null when it is missing or malformed (already reported). */
  private record Proposed(
      int index,
      String stepRef,
      String agent,
      String objective,
      List<String> skills,
      List<String> dependsOn) {

    String label() {
      return stepRef == null
          ? "steps[" + index + "]"
          : "step '" + stepRef + "' (steps[" + index + "])";
    }
  }

  private PlanValidation check(String rawJson, CompiledPolicy policy) {
    Violations v = new Violations();
    if (rawJson == null) {
      v.add("the plan body is missing");
      return v.rejected();
    }
    if (rawJson.length() > MAX_BODY_BYTES
        || PlanText.utf8Length(rawJson, MAX_BODY_BYTES) > MAX_BODY_BYTES) {
      v.add("the plan body is larger than " + MAX_BODY_BYTES + " bytes (256 KiB)");
      return v.rejected();
    }
    JsonNode root;
    try {
      root = Json.STRICT.readTree(rawJson);
    } catch (JacksonException e) {
      v.add(
          "the plan body is not valid JSON"
              + at(e.getLocation())
              + ": "
              + firstLine(e.getOriginalMessage()));
      return v.rejected();
    }
    if (root == null || root.isMissingNode()) {
      v.add("the plan body is empty");
      return v.rejected();
    }

    Set<String> flagged = new HashSet<>();
    for (ProtocolSchema.Violation violation : PLAN_SCHEMA.check(root)) {
      v.add(violation.message());
      flagged.add(violation.path());
    }
    if (!(root instanceof ObjectNode plan)) {
      return v.rejected(); // the schema said so
    }

    String summary = null;
    JsonNode summaryNode = plan.get("summary");
    if (summaryNode != null && summaryNode.isTextual()) {
      summary = PlanText.normalize(summaryNode.textValue(), true);
      if (summary.codePointCount(0, summary.length()) > MAX_SUMMARY
          && !flagged.contains("$.summary")) {
        v.add("$.summary: must be at most " + MAX_SUMMARY + " characters long after normalization");
      }
    }

    JsonNode stepsNode = plan.get("steps");
    if (!(stepsNode instanceof ArrayNode stepsArray)) {
      return v.rejected(); // the schema reported it (missing or not an array)
    }
    int maxSteps = policy.limits().maxSteps();
    if (stepsArray.size() > maxSteps) {
      v.add(
          "the plan has "
              + stepsArray.size()
              + " steps; the policy allows at most "
              + maxSteps
              + " (limits.max_steps)");
    }
    if (stepsArray.size() > MAX_STEPS_CHECKED) {
      return v.rejected(); // the schema's maxItems was reported; steps that many are not examined
    }

    List<Proposed> steps = new ArrayList<>();
    for (int i = 0; i < stepsArray.size(); i++) {
      if (stepsArray.get(i) instanceof ObjectNode step) {
        steps.add(proposed(i, step, v, flagged));
      }
    }
    checkRefs(steps, v);
    checkAgentsAndSkills(steps, policy, v);

    if (!v.isEmpty()) {
      return v.rejected();
    }
    return accept(summary, steps);
  }

  private static Proposed proposed(int i, ObjectNode step, Violations v, Set<String> flagged) {
    String path = "$.steps[" + i + "]";
    String stepRef =
        identifier(step.get("step_ref"), path + ".step_ref", NAME, NAME_PATTERN, v, flagged);
    String agent = identifier(step.get("agent"), path + ".agent", NAME, NAME_PATTERN, v, flagged);
    String objective = null;
    JsonNode objectiveNode = step.get("objective");
    if (objectiveNode != null && objectiveNode.isTextual()) {
      String objectivePath = path + ".objective";
      objective = PlanText.normalize(objectiveNode.textValue(), true);
      if (!flagged.contains(objectivePath)) {
        if (objective.isEmpty()) {
          v.add(
              objectivePath
                  + ": is empty after normalization (control characters removed,"
                  + " whitespace trimmed)");
          objective = null;
        } else if (objective.codePointCount(0, objective.length()) > MAX_OBJECTIVE) {
          v.add(
              objectivePath
                  + ": must be at most "
                  + MAX_OBJECTIVE
                  + " characters long after normalization");
          objective = null;
        }
      }
    }
    List<String> skillNames =
        identifiers(step.get("skills"), path + ".skills", SKILL, SKILL_PATTERN, v, flagged);
    List<String> dependsOn =
        identifiers(step.get("depends_on"), path + ".depends_on", NAME, NAME_PATTERN, v, flagged);
    return new Proposed(i, stepRef, agent, objective, skillNames, dependsOn);
  }

  /**
   * The identifier at {@code path} if it matches {@code pattern} exactly; otherwise null, with a
   * violation unless the schema already reported this path.
   */
  private static String identifier(
      JsonNode node,
      String path,
      Pattern pattern,
      String patternText,
      Violations v,
      Set<String> flagged) {
    if (node == null || !node.isTextual()) {
      return null; // missing or wrong type: the schema reported it
    }
    String value = node.textValue();
    if (value.length() <= MAX_SKILL_LENGTH && pattern.matcher(value).matches()) {
      return value;
    }
    if (!flagged.contains(path)) {
      v.add(path + ": " + Violations.quoted(value) + " does not match " + patternText + " exactly");
    }
    return null;
  }

  private static List<String> identifiers(
      JsonNode node,
      String path,
      Pattern pattern,
      String patternText,
      Violations v,
      Set<String> flagged) {
    List<String> out = new ArrayList<>();
    if (node instanceof ArrayNode array) {
      for (int i = 0; i < array.size(); i++) {
        String value =
            identifier(array.get(i), path + "[" + i + "]", pattern, patternText, v, flagged);
        if (value != null && !out.contains(value)) {
          out.add(value);
        }
      }
    }
    return out;
  }

  // --- step references, dependencies, cycles ----------------------------------------------------

  private static void checkRefs(List<Proposed> steps, Violations v) {
    Map<String, Integer> firstIndex = new HashMap<>();
    for (Proposed step : steps) {
      if (step.stepRef() != null) {
        Integer first = firstIndex.putIfAbsent(step.stepRef(), step.index());
        if (first != null) {
          v.add(
              "$.steps["
                  + step.index()
                  + "].step_ref: '"
                  + step.stepRef()
                  + "' is already the step_ref of steps["
                  + first
                  + "]; step_refs must be unique");
        }
      }
    }
    for (Proposed step : steps) {
      for (String dependency : step.dependsOn()) {
        if (dependency.equals(step.stepRef())) {
          v.add(step.label() + ": depends on itself");
        } else if (!firstIndex.containsKey(dependency)) {
          v.add(
              step.label()
                  + ": depends_on names '"
                  + dependency
                  + "', which is not a step_ref of this plan");
        }
      }
    }
    for (DependencyCycles.Cycle<Proposed> cycle :
        DependencyCycles.find(steps, Proposed::stepRef, Proposed::dependsOn)) {
      List<Proposed> loop = cycle.loop();
      StringBuilder reason = new StringBuilder("dependency cycle: ");
      for (int i = 0; i < loop.size(); i++) {
        reason
            .append(i == 0 ? "" : ", ")
            .append("step '")
            .append(loop.get(i).stepRef())
            .append("' depends on '")
            .append(loop.get((i + 1) % loop.size()).stepRef())
            .append('\'');
      }
      if (!cycle.alsoCaught().isEmpty()) {
        reason.append(" (also caught in it:");
        cycle.alsoCaught().forEach(s -> reason.append(" '").append(s.stepRef()).append('\''));
        reason.append(')');
      }
      v.add(reason.toString());
    }
  }

  // --- agents and skills against the policy
  // -------------------------------------------------------

  private void checkAgentsAndSkills(List<Proposed> steps, CompiledPolicy policy, Violations v) {
    for (Proposed step : steps) {
      AgentPolicy agent = null;
      if (step.agent() != null) {
        Optional<AgentPolicy> declared = policy.agent(step.agent());
        if (declared.isEmpty()) {
          v.add(step.label() + ": agent '" + step.agent() + "' is not declared in the policy");
        } else if (declared.get().role() == AgentRole.PLANNER) {
          v.add(
              step.label()
                  + ": agent '"
                  + step.agent()
                  + "' is a planner; plan steps are assigned to workers");
        } else {
          agent = declared.get();
          if (!agent.enabled()) {
            v.add(step.label() + ": agent '" + step.agent() + "' is disabled in the policy");
          }
        }
      }
      for (String skill : step.skills()) {
        if (!skills.exists(skill)) {
          v.add(step.label() + ": skill '" + skill + "' does not exist");
          continue;
        }
        if (agent != null && !agent.allowsSkill(skill)) {
          v.add(step.label() + ": agent " + agent.name() + " is not allowed skill " + skill);
        }
        Optional<String> unavailable = skills.unavailableReason(skill);
        if (unavailable != null && unavailable.isPresent()) {
          v.add(step.label() + ": skill " + skill + " is unavailable: " + unavailable.get());
        }
      }
    }
  }

  // --- acceptance -------------------------------------------------------------------------------

  private static PlanValidation accept(String summary, List<Proposed> steps) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    ObjectNode normalized = nodes.objectNode();
    normalized.put("summary", summary);
    ArrayNode stepArray = normalized.putArray("steps");
    for (Proposed step : steps) {
      ObjectNode s = stepArray.addObject();
      s.put("step_ref", step.stepRef());
      s.put("agent", step.agent());
      s.put("objective", step.objective());
      step.skills().forEach(s.putArray("skills")::add);
      step.dependsOn().forEach(s.putArray("depends_on")::add);
    }
    String canonical;
    byte[] canonicalBytes;
    try {
      JsonCanonicalizer canonicalizer =
          new JsonCanonicalizer(Json.STRICT.writeValueAsString(normalized));
      canonical = canonicalizer.getEncodedString();
      canonicalBytes = canonical.getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("could not canonicalize a normalized plan", e);
    }
    List<Proposed> order = dependencyOrder(steps);
    List<NormalizedStep> normalizedSteps = new ArrayList<>();
    for (Proposed step : order) {
      normalizedSteps.add(
          new NormalizedStep(
              step.stepRef(),
              step.agent(),
              step.objective(),
              step.skills(),
              step.dependsOn(),
              normalizedSteps.size() + 1));
    }
    return new PlanValidation.Accepted(
        new NormalizedPlan(summary, normalizedSteps), sha256(canonicalBytes), canonical);
  }

  /** Kahn's order, taking the earliest proposed step among those whose dependencies are placed. */
  private static List<Proposed> dependencyOrder(List<Proposed> steps) {
    List<Proposed> order = new ArrayList<>(steps.size());
    Set<String> placed = new HashSet<>();
    boolean[] done = new boolean[steps.size()];
    while (order.size() < steps.size()) {
      int next = -1;
      for (int i = 0; i < steps.size() && next < 0; i++) {
        if (!done[i] && placed.containsAll(steps.get(i).dependsOn())) {
          next = i;
        }
      }
      if (next < 0) {
        throw new IllegalStateException("an accepted plan has a dependency cycle");
      }
      done[next] = true;
      placed.add(steps.get(next).stepRef());
      order.add(steps.get(next));
    }
    return order;
  }

  static String sha256(byte[] bytes) {
    return Sha256.hex(bytes);
  }

  private static String at(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
  }

  /** Jackson's message without its references to its own configuration. */
  static String firstLine(String message) {
    if (message == null) {
      return "malformed";
    }
    String line = message.lines().findFirst().orElse("").strip();
    if (line.startsWith("Trailing token")) {
      return "unexpected content after the plan object";
    }
    line =
        line.replaceAll("\\s*\\(start marker at \\[Source: [^]]*\\]\\)", "")
            .replaceAll(",? from `[^`]*`", "")
            .strip();
    return line.length() > 300 ? line.substring(0, 300) + "…" : line;
  }
}
