package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import dev.worka.gateway.schema.JsonSchemas;
import dev.worka.protocol.Json;
import java.util.List;
import java.util.Map;

/**
 * A JSON Schema an MCP server sent (a tool's {@code inputSchema}), compiled with the Gateway's
 * shared setup ({@link JsonSchemas}: networknt, Jackson 2). A schema that refers outside itself
 * ({@code $id}, a remote {@code $ref}, a {@code $schema} that is not a JSON Schema draft) is
 * refused rather than followed: a server must not make the Gateway fetch URLs. Patterns match whole
 * values.
 */
final class ToolSchema {
  private final JsonNode source;
  private final JsonSchema schema;

  private ToolSchema(JsonNode source, JsonSchema schema) {
    this.source = source;
    this.schema = schema;
  }

  /**
   * Compiles {@code schema}.
   *
   * @throws IllegalArgumentException saying why it cannot be used
   */
  static ToolSchema compile(Map<String, Object> schema) {
    JsonNode node =
        schema == null ? Json.STRICT.createObjectNode() : Json.STRICT.valueToTree(schema);
    return compile(node);
  }

  static ToolSchema compile(JsonNode node) {
    return new ToolSchema(node, JsonSchemas.compile(node));
  }

  /**
   * The violations of {@code instance}, each as {@code "<path>: <what is wrong>"}, sorted; empty
   * when valid.
   */
  List<String> violations(JsonNode instance) {
    return JsonSchemas.violations(schema, instance);
  }

  /** Whether the schema declares a top-level property {@code name}. */
  boolean hasProperty(String name) {
    return source.path("properties").has(name);
  }

  /** The {@code enum} of top-level property {@code name}, or an empty list. */
  List<String> enumOf(String name) {
    JsonNode values = source.path("properties").path(name).path("enum");
    return values.isArray()
        ? java.util.stream.StreamSupport.stream(values.spliterator(), false)
            .map(JsonNode::asText)
            .toList()
        : List.of();
  }
}
