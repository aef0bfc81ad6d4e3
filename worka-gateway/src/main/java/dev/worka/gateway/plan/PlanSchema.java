package dev.worka.gateway.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.worka.protocol.Plan;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The protocol's plan schema (draft 2020-12), loaded once. Messages are in English whatever the
 * machine's locale, each starting with the JSON path of the offending value.
 *
 * <p>The validator's regular expressions use {@code java.util.regex} with find semantics, where
 * {@code $} also matches before a final line break; {@link PlanValidator} therefore re-checks the
 * identifier fields with full matches.
 */
final class PlanSchema {
  record Violation(String path, String message) {}

  private static final JsonSchema SCHEMA = load();

  private static JsonSchema load() {
    SchemaValidatorsConfig config =
        SchemaValidatorsConfig.builder()
            .locale(Locale.ENGLISH)
            .pathType(PathType.JSON_PATH)
            .failFast(false)
            .build();
    try (InputStream in = Plan.class.getResourceAsStream(Plan.SCHEMA_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            "the plan schema " + Plan.SCHEMA_RESOURCE + " is not on the classpath");
      }
      JsonSchema schema =
          JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in, config);
      schema.initializeValidators();
      return schema;
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the plan schema " + Plan.SCHEMA_RESOURCE, e);
    }
  }

  /** Every schema violation of {@code plan}, in the validator's (deterministic) order. */
  static List<Violation> check(JsonNode plan) {
    List<Violation> out = new ArrayList<>();
    for (ValidationMessage message : SCHEMA.validate(plan)) {
      out.add(new Violation(message.getInstanceLocation().toString(), message.getMessage()));
    }
    return out;
  }

  /** Forces the schema to load (a missing or broken schema fails at start, not on a request). */
  static void ensureLoaded() {
    if (SCHEMA == null) {
      throw new IllegalStateException("the plan schema did not load");
    }
  }

  private PlanSchema() {}
}
