package dev.worka.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Objects;

/**
 * The OpenAPI 3.1 document of the Gateway's HTTP APIs ({@code openapi.yaml} beside this class),
 * served at {@code GET /v1/openapi.json} without a token: it describes routes, not data. The plan
 * and result schemas agents write against are the protocol's own ({@code worka-protocol}'s {@code
 * plan.schema.json} and {@code result.schema.json}), put into {@code components.schemas} here so
 * there is one source for each.
 */
public final class OpenApiDocument {
  /** Where the document is served. */
  public static final String PATH = "/v1/openapi.json";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();

  /** {@code components.schemas} entry → the protocol schema that fills it. */
  private static final Map<String, String> PROTOCOL_SCHEMAS =
      Map.of(
          "Plan", "/dev/worka/protocol/plan.schema.json",
          "StepResult", "/dev/worka/protocol/result.schema.json");

  private static final JsonNode DOCUMENT = load();
  private static final String TEXT = text(DOCUMENT);

  private OpenApiDocument() {}

  /** The document (a copy: callers may change it). */
  public static JsonNode document() {
    return DOCUMENT.deepCopy();
  }

  /** Serves the document at {@link #PATH} on {@code router} (not on the ingress port). */
  public static void register(Router router) {
    router.add(
        "GET", PATH, request -> new ApiResponse.Text(200, "application/json; charset=utf-8", TEXT));
  }

  private static JsonNode load() {
    JsonNode document = read(YAML, "openapi.yaml");
    ObjectNode schemas = (ObjectNode) document.path("components").path("schemas");
    PROTOCOL_SCHEMAS.forEach(
        (name, resource) -> {
          if (!schemas.has(name)) {
            throw new IllegalStateException("openapi.yaml has no components.schemas." + name);
          }
          schemas.set(name, read(JSON, resource));
        });
    return document;
  }

  private static JsonNode read(ObjectMapper mapper, String resource) {
    try (InputStream in =
        Objects.requireNonNull(
            OpenApiDocument.class.getResourceAsStream(resource), resource + " is missing")) {
      return mapper.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }

  private static String text(JsonNode document) {
    try {
      return JSON.writeValueAsString(document);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
