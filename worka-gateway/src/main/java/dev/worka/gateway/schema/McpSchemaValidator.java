package dev.worka.gateway.schema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.Json;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import java.util.List;
import java.util.Map;

/**
 * The MCP SDK's schema validator (it checks a tool result's {@code structuredContent} against the
 * tool's {@code outputSchema}) backed by the Gateway's one JSON Schema setup ({@link JsonSchemas}).
 * The SDK's own default needs networknt 3.x, whose package collides with the 1.5 the Gateway uses,
 * so the SDK is always given this one: by the GitHub MCP client ({@code skill.github}) and by the
 * agent's MCP server ({@code agent}).
 */
public final class McpSchemaValidator implements JsonSchemaValidator {
  @Override
  public ValidationResponse validate(Map<String, Object> schema, Object structuredContent) {
    try {
      JsonNode instance = Json.STRICT.valueToTree(structuredContent);
      JsonNode node =
          schema == null ? Json.STRICT.createObjectNode() : Json.STRICT.valueToTree(schema);
      List<String> violations = JsonSchemas.violations(JsonSchemas.compile(node), instance);
      return violations.isEmpty()
          ? ValidationResponse.asValid(Json.STRICT.writeValueAsString(instance))
          : ValidationResponse.asInvalid("does not match the output schema: " + violations);
    } catch (IllegalArgumentException | JsonProcessingException e) {
      return ValidationResponse.asInvalid("the output schema cannot be used: " + e.getMessage());
    }
  }
}
