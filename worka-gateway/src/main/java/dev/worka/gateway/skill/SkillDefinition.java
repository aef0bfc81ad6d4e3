package dev.worka.gateway.skill;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One skill: its name ({@code provider.action}), the provider that owns it, what it does, its input
 * schema (JSON Schema draft 2020-12, an object schema with {@code additionalProperties: false}),
 * and whether invoking it changes something upstream. The schema is copied in and out, so a
 * definition cannot be changed after it is made.
 */
public record SkillDefinition(
    String name,
    String provider,
    String description,
    JsonNode inputSchema,
    boolean sideEffect,
    JsonNode outputSchema) {

  /** A skill whose live output must only be a JSON object (no output schema of its own). */
  public SkillDefinition(
      String name, String provider, String description, JsonNode inputSchema, boolean sideEffect) {
    this(name, provider, description, inputSchema, sideEffect, null);
  }

  /** Skill names as plans and policies spell them. */
  static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*");

  static final int MAX_NAME_LENGTH = 128;

  public SkillDefinition {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(provider, "provider");
    if (name.length() > MAX_NAME_LENGTH || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "skill name must be provider.action (" + NAME.pattern() + "), was '" + name + "'");
    }
    if (!name.startsWith(provider + ".")) {
      throw new IllegalArgumentException(
          "skill " + name + " must be named after its provider '" + provider + "'");
    }
    Objects.requireNonNull(description, "description");
    if (description.isBlank()) {
      throw new IllegalArgumentException("skill " + name + " needs a description");
    }
    Objects.requireNonNull(inputSchema, "inputSchema");
    if (!inputSchema.isObject()
        || !"object".equals(inputSchema.path("type").asText())
        || !inputSchema.path("additionalProperties").isBoolean()
        || inputSchema.path("additionalProperties").booleanValue()) {
      throw new IllegalArgumentException(
          "input schema of skill "
              + name
              + " must be an object schema with \"additionalProperties\": false");
    }
    inputSchema = inputSchema.deepCopy();
    if (outputSchema != null && (outputSchema.isNull() || outputSchema.isMissingNode())) {
      outputSchema = null;
    }
    if (outputSchema != null
        && (!outputSchema.isObject() || !"object".equals(outputSchema.path("type").asText()))) {
      throw new IllegalArgumentException(
          "output schema of skill " + name + " must be an object schema");
    }
    outputSchema = outputSchema == null ? null : outputSchema.deepCopy();
  }

  /**
   * What a live output of this skill must look like (JSON Schema draft 2020-12), or null when any
   * object will do. Dry-run outputs are the Gateway's own and are not checked against it.
   */
  @Override
  public JsonNode outputSchema() {
    return outputSchema == null ? null : outputSchema.deepCopy();
  }

  /** The input schema (a copy: changing it changes nothing here). */
  @Override
  public JsonNode inputSchema() {
    return inputSchema.deepCopy();
  }
}
