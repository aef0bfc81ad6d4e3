package dev.worka.gateway.skill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.ValidationMessage;
import dev.worka.gateway.error.WorkaException;
import dev.worka.gateway.policy.SkillFields;
import dev.worka.gateway.schema.JsonSchemas;
import dev.worka.protocol.Json;
import dev.worka.protocol.SkillSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Every skill the Gateway knows, from its providers, with each input schema compiled once. In
 * {@link SideEffectMode#DRY_RUN} every skill is available and {@link #invoke} answers without
 * calling any provider, with an output that says it is a dry run; in {@link SideEffectMode#LIVE} a
 * skill is available only when its provider is, and {@link #invoke} makes the provider's live call.
 * Thread-safe; immutable after construction.
 */
public final class SkillRegistry {
  private static final Set<String> RESERVED_DRY_RUN_FIELDS =
      Set.of("dry_run", "skill", "provider", "input", "note");

  private record Entry(
      SkillDefinition definition,
      SkillProvider provider,
      JsonSchema schema,
      JsonSchema outputSchema,
      JsonNode dryRunShape) {}

  private final Map<String, Entry> entries;
  private final SideEffectMode mode;

  /**
   * @throws IllegalArgumentException when two providers share a name, two skills share a name, a
   *     skill is not named after its provider, or a schema does not compile (or refers outside
   *     itself)
   */
  public SkillRegistry(List<SkillProvider> providers, SideEffectMode mode) {
    Objects.requireNonNull(providers, "providers");
    this.mode = Objects.requireNonNull(mode, "mode");
    Map<String, Entry> byName = new TreeMap<>();
    Set<String> providerNames = new HashSet<>();
    for (SkillProvider provider : providers) {
      Objects.requireNonNull(provider, "provider");
      if (!providerNames.add(provider.name())) {
        throw new IllegalArgumentException("two skill providers are named " + provider.name());
      }
      for (SkillDefinition skill : provider.skills()) {
        if (!skill.provider().equals(provider.name())) {
          throw new IllegalArgumentException(
              "skill "
                  + skill.name()
                  + " is offered by provider "
                  + provider.name()
                  + " but names provider "
                  + skill.provider());
        }
        if (byName.containsKey(skill.name())) {
          throw new IllegalArgumentException("two skills are named " + skill.name());
        }
        JsonSchema schema = compile(skill.name(), "input", skill.inputSchema());
        JsonSchema outputSchema =
            skill.outputSchema() == null
                ? null
                : compile(skill.name(), "output", skill.outputSchema());
        JsonNode shape = provider.dryRunShape(skill);
        if (shape == null || !shape.isObject()) {
          throw new IllegalArgumentException(
              "dry-run shape of skill " + skill.name() + " must be a JSON object");
        }
        byName.put(
            skill.name(), new Entry(skill, provider, schema, outputSchema, shape.deepCopy()));
      }
    }
    this.entries = Collections.unmodifiableMap(byName);
  }

  public SideEffectMode mode() {
    return mode;
  }

  /**
   * What the policy compiler checks a manifest against: the skills this Gateway knows and the
   * top-level input fields of each (so a condition reading {@code input.ownr} fails at load).
   */
  public SkillFields policyFields() {
    return new SkillFields() {
      @Override
      public Optional<java.util.Set<String>> inputFields(String skill) {
        return find(skill)
            .map(
                d -> {
                  java.util.Set<String> names = new java.util.LinkedHashSet<>();
                  d.inputSchema().path("properties").fieldNames().forEachRemaining(names::add);
                  return names;
                });
      }

      @Override
      public boolean knows(String skill) {
        return find(skill).isPresent();
      }
    };
  }

  /** Every skill, by name. */
  public List<SkillDefinition> all() {
    return entries.values().stream().map(Entry::definition).toList();
  }

  public Optional<SkillDefinition> find(String name) {
    return Optional.ofNullable(name == null ? null : entries.get(name)).map(Entry::definition);
  }

  /**
   * Why {@code name} cannot be invoked now, or empty when it can: {@code "unknown skill X"}; in
   * live mode the provider's reason (what to configure); in dry-run mode every known skill can.
   */
  public Optional<String> unavailableReason(String name) {
    Entry entry = name == null ? null : entries.get(name);
    if (entry == null) {
      return Optional.of("unknown skill " + name);
    }
    return switch (mode) {
      case DRY_RUN -> Optional.empty();
      case LIVE ->
          switch (entry.provider().availability(entry.definition())) {
            case Availability.Available available -> Optional.empty();
            case Availability.Unavailable unavailable -> Optional.of(unavailable.reason());
          };
    };
  }

  /**
   * The violations of {@code input} against the skill's input schema, each as {@code "<path>: <what
   * is wrong>"} (e.g. {@code "$.title: must be at most 256 characters long"}), sorted; empty when
   * the input is valid. An unknown skill is one violation saying so.
   */
  public List<String> validateInput(String name, JsonNode input) {
    Entry entry = name == null ? null : entries.get(name);
    if (entry == null) {
      return List.of("unknown skill " + name);
    }
    return violations(entry, input);
  }

  /**
   * Invokes skill {@code name}. In dry-run mode no provider is called and the answer is {@code
   * {"dry_run": true, "skill", "provider", "input", "note", …}} with the empty shape of a real
   * answer. In live mode the provider's live call is made.
   *
   * @throws SkillUnavailableException when the skill is unknown or (live) its provider cannot run
   * @throws IllegalArgumentException when {@code input} violates the schema (validate first)
   * @throws SkillFailedException when the live call failed
   */
  public JsonNode invoke(String name, JsonNode input, InvocationContext ctx) {
    Objects.requireNonNull(ctx, "ctx");
    Entry entry = name == null ? null : entries.get(name);
    if (entry == null) {
      throw new SkillUnavailableException(String.valueOf(name), "unknown skill " + name);
    }
    List<String> violations = violations(entry, input);
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(
          "input of skill " + name + " is invalid (validate before invoking): " + violations);
    }
    return switch (mode) {
      case DRY_RUN -> dryRun(entry, input);
      case LIVE -> live(entry, input, ctx);
    };
  }

  /**
   * Asks the provider whether an earlier call of {@code name} under {@code ctx} took effect
   * upstream (see {@link SkillProvider#reconcile}). A dry-run call never reaches an upstream, so in
   * {@link SideEffectMode#DRY_RUN} the answer is always {@link
   * SkillProvider.Reconciliation.NotPerformed}.
   */
  public SkillProvider.Reconciliation reconcile(
      String name, JsonNode input, InvocationContext ctx) {
    Objects.requireNonNull(ctx, "ctx");
    Entry entry = name == null ? null : entries.get(name);
    if (entry == null) {
      return new SkillProvider.Reconciliation.Unknown("unknown skill " + name);
    }
    if (mode == SideEffectMode.DRY_RUN) {
      return new SkillProvider.Reconciliation.NotPerformed("dry-run calls never reach an upstream");
    }
    try {
      SkillProvider.Reconciliation answer =
          entry.provider().reconcile(entry.definition(), input.deepCopy(), ctx);
      return answer == null
          ? new SkillProvider.Reconciliation.Unknown("provider returned no answer")
          : answer;
    } catch (RuntimeException e) {
      return new SkillProvider.Reconciliation.Unknown(
          "asking " + entry.provider().upstream() + " failed: " + e.getMessage());
    }
  }

  /** How long a live call of {@code name} may take at most ({@link SkillProvider#callTimeout}). */
  public java.time.Duration callTimeout(String name) {
    Entry entry = name == null ? null : entries.get(name);
    return entry == null ? java.time.Duration.ZERO : entry.provider().callTimeout();
  }

  /** The provider's upstream reference for a live output of {@code name}, if it has one. */
  public Optional<String> upstreamRef(String name, JsonNode output) {
    Entry entry = name == null ? null : entries.get(name);
    if (entry == null || mode == SideEffectMode.DRY_RUN || output == null) {
      return Optional.empty();
    }
    return entry.provider().upstreamRef(entry.definition(), output);
  }

  /** The envelope form of skills {@code names}, in that order. */
  public List<SkillSpec> specs(List<String> names) {
    List<SkillSpec> specs = new ArrayList<>(names.size());
    for (String name : names) {
      Entry entry = entries.get(name);
      if (entry == null) {
        throw new IllegalArgumentException("unknown skill " + name);
      }
      SkillDefinition skill = entry.definition();
      specs.add(
          new SkillSpec(
              skill.name(), skill.description(), skill.inputSchema(), skill.sideEffect()));
    }
    return List.copyOf(specs);
  }

  private static List<String> violations(Entry entry, JsonNode input) {
    if (input == null || input.isMissingNode()) {
      return List.of("$: input is required (a JSON object)");
    }
    Set<ValidationMessage> messages = entry.schema().validate(input);
    return messages.stream().map(SkillRegistry::describe).sorted().distinct().toList();
  }

  private static String describe(ValidationMessage message) {
    String location = message.getInstanceLocation().toString();
    String text = message.getMessage();
    return text.startsWith(location) ? text : location + ": " + text;
  }

  private static JsonNode dryRun(Entry entry, JsonNode input) {
    ObjectNode out = Json.STRICT.createObjectNode();
    out.put("dry_run", true);
    out.put("skill", entry.definition().name());
    out.put("provider", entry.provider().name());
    out.set("input", input.deepCopy());
    out.put(
        "note",
        "WORKA_SIDE_EFFECTS=dry-run: gated and recorded, not sent to "
            + entry.provider().upstream());
    for (Map.Entry<String, JsonNode> field : entry.dryRunShape().properties()) {
      if (!RESERVED_DRY_RUN_FIELDS.contains(field.getKey())) {
        out.set(field.getKey(), field.getValue().deepCopy());
      }
    }
    return out;
  }

  private static JsonNode live(Entry entry, JsonNode input, InvocationContext ctx) {
    String name = entry.definition().name();
    if (entry.provider().availability(entry.definition())
        instanceof Availability.Unavailable unavailable) {
      throw new SkillUnavailableException(name, unavailable.reason());
    }
    JsonNode output;
    try {
      output = entry.provider().invoke(entry.definition(), input.deepCopy(), ctx);
    } catch (WorkaException e) {
      throw e;
    } catch (RuntimeException e) {
      // Unknown whether the effect happened: not retryable, a person looks at it.
      throw new SkillFailedException(
          name,
          "provider "
              + entry.provider().name()
              + " threw "
              + e.getClass().getName()
              + " for invocation "
              + ctx.invocationId(),
          false,
          e);
    }
    if (output == null) {
      throw new SkillFailedException(
          name, "provider " + entry.provider().name() + " returned no output", false);
    }
    List<String> wrong =
        !output.isObject()
            ? List.of("$: must be a JSON object")
            : entry.outputSchema() == null
                ? List.of()
                : entry.outputSchema().validate(output).stream()
                    .map(SkillRegistry::describe)
                    .sorted()
                    .distinct()
                    .toList();
    if (!wrong.isEmpty()) {
      throw new SkillOutputInvalidException(
          name,
          entry.provider().upstream(),
          wrong,
          entry.definition().sideEffect() && output.isObject()
              ? entry.provider().upstreamRef(entry.definition(), output).orElse(null)
              : null);
    }
    return output;
  }

  /**
   * A skill's schema, compiled with the Gateway's shared setup: self-contained (no {@code $id}, no
   * remote reference, no foreign {@code $schema}; nothing fetched), patterns matching whole values.
   */
  private static JsonSchema compile(String skill, String which, JsonNode schema) {
    try {
      return JsonSchemas.compile(schema);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          which
              + " schema of skill "
              + skill
              + " cannot be used (it must be self-contained): "
              + e.getMessage(),
          e);
    }
  }

  @Override
  public String toString() {
    return "SkillRegistry[" + mode.value() + ", " + entries.size() + " skills]";
  }
}
