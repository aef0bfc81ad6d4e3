package dev.worka.gateway.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.sun.net.httpserver.HttpServer;
import dev.worka.gateway.plan.ProtocolSchema;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.protocol.Json;
import dev.worka.protocol.Plan;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The shared schema setup: patterns match whole values (a trailing line terminator does not pass
 * {@code ^…$}) for every kind of schema, and a schema that names anything outside itself is refused
 * without a single request leaving the Gateway (a local server counts them).
 */
class JsonSchemasTest {
  HttpServer server;
  final AtomicInteger fetches = new AtomicInteger();
  String base;

  @BeforeEach
  void countingServer() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/",
        exchange -> {
          fetches.incrementAndGet();
          byte[] body = "{\"type\": \"string\"}".getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/schema+json");
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void nothingWasFetched() {
    server.stop(0);
    assertEquals(0, fetches.get(), "the Gateway fetched a schema");
  }

  static JsonNode json(String text) {
    try {
      return Json.STRICT.readTree(text.replace('\'', '"'));
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  static boolean valid(JsonSchema schema, String value) {
    return schema.validate(Json.STRICT.getNodeFactory().textNode(value)).isEmpty();
  }

  @Test
  void anchoredPatternsMatchTheWholeValue() {
    JsonSchema a = JsonSchemas.compile(json("{'type': 'string', 'pattern': '^a$'}"));
    assertTrue(valid(a, "a"));
    for (String v : List.of("a\n", "a\r\n", "a\r", "a\u2028", "a\u0085", "\na", "ab")) {
      assertFalse(valid(a, v), "^a$ must not accept " + Json.STRICT.getNodeFactory().textNode(v));
    }
    // Unanchored patterns still search (ECMA-262), and $ inside a class or escaped stays literal.
    assertTrue(valid(JsonSchemas.compile(json("{'type': 'string', 'pattern': 'b'}")), "abc"));
    JsonSchema literal = JsonSchemas.compile(json("{'type': 'string', 'pattern': '^[$]\\\\$x$'}"));
    assertTrue(valid(literal, "$$x"));
    assertFalse(valid(literal, "$$x\n"));
    JsonSchema javaEnd = JsonSchemas.compile(json("{'type': 'string', 'pattern': '^a\\\\Z'}"));
    assertFalse(valid(javaEnd, "a\n"), "Java's \\Z is strict too");
    JsonSchema keys =
        JsonSchemas.compile(
            json(
                "{'type': 'object', 'patternProperties': {'^k$': {'type': 'integer'}}, 'additionalProperties': false}"));
    assertTrue(keys.validate(json("{'k': 1}")).isEmpty());
    assertFalse(keys.validate(json("{'k\\n': 1}")).isEmpty(), "patternProperties match whole keys");
  }

  @Test
  void endAnchorsAreRewrittenOnlyWhereTheyAreAnchors() {
    assertEquals("^a\\z", WholeValuePatterns.strictEnd("^a$"));
    assertEquals("^(a|b\\z)\\z", WholeValuePatterns.strictEnd("^(a|b$)$"));
    assertEquals("[$]\\$\\z", WholeValuePatterns.strictEnd("[$]\\$$"));
    assertEquals("[]$][^]$]\\z", WholeValuePatterns.strictEnd("[]$][^]$]$"));
    assertEquals("[a-z&&[^$]]\\z", WholeValuePatterns.strictEnd("[a-z&&[^$]]$"));
    assertEquals("\\Q$\\E\\z", WholeValuePatterns.strictEnd("\\Q$\\E$"));
    assertEquals("a\\z", WholeValuePatterns.strictEnd("a\\Z"));
  }

  @Test
  void everySchemaKindGetsWholeValuePatterns() {
    // Plans (the protocol's own schema, compiled with the shared setup).
    ProtocolSchema plan = ProtocolSchema.load(Plan.SCHEMA_RESOURCE);
    String planJson =
        "{'summary': 's', 'steps': [{'step_ref': 'read\\n', 'agent': 'daneel', 'objective': 'o',"
            + " 'skills': ['slack.read_thread'], 'depends_on': []}]}";
    List<ProtocolSchema.Violation> violations = plan.check(json(planJson));
    assertTrue(
        violations.stream().anyMatch(v -> v.path().contains("step_ref")), violations.toString());
    assertTrue(plan.check(json(planJson.replace("read\\n", "read"))).isEmpty());

    // Skill inputs (the built-in catalog's patterns).
    SkillRegistry skills =
        new SkillRegistry(CatalogOnlyProvider.builtIn(Map.of()), SideEffectMode.DRY_RUN);
    assertTrue(
        skills
            .validateInput(
                "slack.read_thread", json("{'channel': 'C0123ABCD', 'ts': '1700000000.000100'}"))
            .isEmpty());
    List<String> wrong =
        skills.validateInput(
            "slack.read_thread", json("{'channel': 'C0123ABCD\\n', 'ts': '1700000000.000100'}"));
    assertTrue(wrong.stream().anyMatch(w -> w.contains("channel")), wrong.toString());
  }

  @Test
  void aForeignDialectOrAnyRemoteReferenceIsRefusedWithoutFetching() {
    for (String schema :
        List.of(
            "{'$schema': '" + base + "/meta', 'type': 'string'}",
            "{'$schema': 'https://json-schema.org/draft/2020-12/schema', 'type': 'object',"
                + " 'properties': {'x': {'$schema': '"
                + base
                + "/meta'}}}",
            "{'type': 'object', 'properties': {'x': {'$ref': '" + base + "/x.json'}}}",
            "{'type': 'object', 'properties': {'x': {'$ref': 'x.json#/a'}}}",
            "{'type': 'object', 'properties': {'x': {'$dynamicRef': '" + base + "/x.json#meta'}}}",
            "{'type': 'object', 'properties': {'x': {'$recursiveRef': '" + base + "/x.json'}}}",
            "{'$id': '"
                + base
                + "/root.json', 'type': 'object', 'properties': {'x': {'$ref': 'x.json'}}}",
            "{'type': 'array', 'items': [{'$ref': 'file:///etc/passwd'}]}",
            "{'$schema': 42}")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> JsonSchemas.compile(json(schema)), schema);
      assertTrue(e.getMessage().contains("refers outside itself"), e.getMessage());
    }
  }

  @Test
  void theKnownDraftsAndLocalReferencesCompileWithoutFetching() {
    for (String dialect :
        List.of(
            "https://json-schema.org/draft/2020-12/schema",
            "https://json-schema.org/draft/2020-12/schema#",
            "http://json-schema.org/draft-07/schema#",
            "https://json-schema.org/draft/2019-09/schema",
            "http://json-schema.org/draft-04/schema#")) {
      JsonSchema s =
          JsonSchemas.compile(
              json(
                  "{'$schema': '"
                      + dialect
                      + "', 'type': 'object',"
                      + " 'properties': {'n': {'$ref': '#/$defs/n'}}, '$defs': {'n': {'type': 'string', 'pattern': '^n$'}},"
                      + " 'definitions': {}}"));
      assertTrue(s.validate(json("{'n': 'n'}")).isEmpty(), dialect);
      assertFalse(s.validate(json("{'n': 'n\\n'}")).isEmpty(), dialect);
    }
  }

  @Test
  void evenASchemaTrustedAsOursCannotMakeTheValidatorFetch() {
    // The loader refuses every location outside the validator's jar, whatever the syntactic check
    // would have said.
    RuntimeException e =
        assertThrows(
            RuntimeException.class,
            () -> {
              JsonSchema s =
                  JsonSchemas.compileTrusted(
                      json(
                          "{'type': 'object', 'properties': {'x': {'$ref': '"
                              + base
                              + "/x.json'}}}"));
              s.validate(json("{'x': 1}"));
            });
    boolean said = false;
    for (Throwable t = e; t != null; t = t.getCause()) {
      said |= String.valueOf(t.getMessage()).contains("never fetches schemas");
    }
    assertTrue(said, e.toString());
  }
}
