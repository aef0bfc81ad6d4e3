package dev.worka.gateway.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.ValidationMessage;
import dev.worka.gateway.schema.JsonSchemas;
import dev.worka.protocol.Json;
import dev.worka.protocol.Plan;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One of the agent protocol's JSON Schemas (worka-protocol's resources: the plan, the result),
 * compiled once. A missing or broken schema fails when it is loaded, at start.
 */
public final class ProtocolSchema {
  /** One violation: where ({@code $.steps[0].agent}) and what. */
  public record Violation(String path, String message) {
    @Override
    public String toString() {
      return message.startsWith(path) ? message : path + ": " + message;
    }
  }

  private final JsonSchema schema;

  private ProtocolSchema(JsonSchema schema) {
    this.schema = schema;
  }

  /** The schema at {@code resource} on worka-protocol's classpath. */
  public static ProtocolSchema load(String resource) {
    try (InputStream in = Plan.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("the schema " + resource + " is not on the classpath");
      }
      // The Gateway's shared setup: whole-value patterns, nothing fetched (the $id is its own).
      return new ProtocolSchema(JsonSchemas.compileTrusted(Json.STRICT.readTree(in)));
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the schema " + resource, e);
    }
  }

  /** Every violation of {@code value}, in the validator's (deterministic) order. */
  public List<Violation> check(JsonNode value) {
    List<Violation> out = new ArrayList<>();
    for (ValidationMessage message : schema.validate(value)) {
      out.add(new Violation(message.getInstanceLocation().toString(), message.getMessage()));
    }
    return out;
  }
}
