package dev.worka.gateway.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.AbsoluteIri;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.resource.InputStreamSource;
import com.networknt.schema.resource.SchemaLoader;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Compiles JSON Schemas the one way the Gateway does (see the package doc): draft 2020-12 by
 * default, violations located by JSON path in English, {@code pattern}s matching whole values,
 * nothing fetched.
 */
public final class JsonSchemas {
  /**
   * The meta-schemas a schema may name in {@code $schema}: the drafts the validator carries in its
   * own jar (so naming one loads nothing), each with or without the trailing {@code #}.
   */
  static final Set<String> KNOWN_DIALECTS =
      Set.of(
          "https://json-schema.org/draft/2020-12/schema",
          "https://json-schema.org/draft/2019-09/schema",
          "http://json-schema.org/draft-07/schema",
          "http://json-schema.org/draft-06/schema",
          "http://json-schema.org/draft-04/schema");

  private static final SchemaValidatorsConfig CONFIG =
      SchemaValidatorsConfig.builder()
          .locale(Locale.ENGLISH)
          .pathType(PathType.JSON_PATH)
          .failFast(false)
          .regularExpressionFactory(WholeValuePatterns.INSTANCE)
          .build();

  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.builder(JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012))
          .schemaLoaders(loaders -> loaders.add(NoFetching.INSTANCE))
          .build();

  private JsonSchemas() {}

  /**
   * The violations of {@code instance} against {@code schema}, each as {@code "<path>: <what is
   * wrong>"}, sorted; empty when valid.
   */
  public static List<String> violations(JsonSchema schema, JsonNode instance) {
    return schema.validate(instance).stream()
        .map(JsonSchemas::describe)
        .sorted()
        .distinct()
        .toList();
  }

  private static String describe(ValidationMessage message) {
    String location = message.getInstanceLocation().toString();
    String text = message.getMessage();
    return text.startsWith(location) ? text : location + ": " + text;
  }

  /**
   * Compiles a schema that came from outside the Gateway's own code (an upstream MCP server's tool
   * schema, a skill catalog's schema): refused first if it names anything outside itself.
   *
   * @throws IllegalArgumentException saying why it cannot be used
   */
  public static JsonSchema compile(JsonNode schema) {
    Optional<String> outside = refersOutside(schema);
    if (outside.isPresent()) {
      throw new IllegalArgumentException(
          "it refers outside itself ("
              + outside.get()
              + "); only #fragment references within the"
              + " schema are followed, and $schema may name only a JSON Schema draft");
    }
    return compileTrusted(schema);
  }

  /**
   * Compiles one of the Gateway's own schemas (worka-protocol's plan and result), which may carry
   * an {@code $id}; still nothing is fetched.
   *
   * @throws IllegalArgumentException if it does not compile
   */
  public static JsonSchema compileTrusted(JsonNode schema) {
    try {
      JsonSchema compiled = FACTORY.getSchema(schema, CONFIG);
      compiled.initializeValidators();
      return compiled;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("it does not compile: " + e.getMessage(), e);
    }
  }

  /**
   * What in {@code node} names something outside it, or empty: a {@code $schema} that is not a
   * known draft, any {@code $id}, or a {@code $ref}/{@code $dynamicRef}/{@code $recursiveRef} that
   * is not a {@code #} fragment. Anywhere in the tree: every nested keyword is checked, also those
   * under keys the validator would ignore.
   */
  static Optional<String> refersOutside(JsonNode node) {
    if (node == null) {
      return Optional.empty();
    }
    if (node.isObject()) {
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        String key = field.getKey();
        JsonNode value = field.getValue();
        boolean outside =
            switch (key) {
              case "$id" -> true;
              case "$schema" -> !(value.isTextual() && isKnownDialect(value.asText()));
              case "$ref", "$dynamicRef", "$recursiveRef" ->
                  !(value.isTextual() && value.asText().startsWith("#"));
              default -> false;
            };
        if (outside) {
          return Optional.of(key + " " + clip(value.toString()));
        }
        Optional<String> inner = refersOutside(value);
        if (inner.isPresent()) {
          return inner;
        }
      }
    } else if (node.isArray()) {
      for (JsonNode item : node) {
        Optional<String> inner = refersOutside(item);
        if (inner.isPresent()) {
          return inner;
        }
      }
    }
    return Optional.empty();
  }

  private static boolean isKnownDialect(String uri) {
    return KNOWN_DIALECTS.contains(uri.endsWith("#") ? uri.substring(0, uri.length() - 1) : uri);
  }

  private static String clip(String text) {
    return text.length() <= 200 ? text : text.substring(0, 200) + "…";
  }

  /**
   * The validator's first loader: lets its own jar's resources ({@code classpath:}, where it maps
   * the drafts' meta-schemas) through to the loaders after it and refuses every other location, so
   * no schema, whatever slipped past {@link #refersOutside}, makes the Gateway open a URL or a
   * file.
   */
  private static final class NoFetching implements SchemaLoader {
    static final NoFetching INSTANCE = new NoFetching();

    @Override
    public InputStreamSource getSchema(AbsoluteIri iri) {
      String scheme = iri.getScheme();
      if ("classpath".equals(scheme) || "resource".equals(scheme)) {
        return null;
      }
      throw new IllegalArgumentException(
          "schema location " + iri + " is not loaded: the Gateway never fetches schemas");
    }
  }
}
