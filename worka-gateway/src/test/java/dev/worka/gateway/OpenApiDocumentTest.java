package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import dev.worka.gateway.http.OpenApiDocument;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.schema.JsonSchemas;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAPI document ({@code GET /v1/openapi.json}) describes what the Gateway really serves: its
 * operations are exactly the Gateway's routes (with Slack and GitHub ingress on), and the Gateway's
 * real answers — of the operator API over a whole run, and of the agent API to a worker holding a
 * step token — match the document's schemas for their status codes.
 */
class OpenApiDocumentTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir static Path home;

  /** ernest parks: its step stays running while the test speaks for it with a step token. */
  private static final List<String> PARKED = List.of("/bin/sh", "-c", "sleep 600");

  private static SlackApiStandIn slack;
  private static TestGateway gw;
  private static JsonNode document;

  @BeforeAll
  static void start() throws Exception {
    slack = new SlackApiStandIn();
    Map<String, String> environment = new HashMap<>(SandboxHere.orOff());
    environment.putAll(
        Map.of(
            "SLACK_BOT_TOKEN",
            "xoxb-openapi-test",
            "SLACK_SIGNING_SECRET",
            "openapi-slack-secret",
            "SLACK_API_URL",
            slack.url(),
            "GITHUB_WEBHOOK_SECRET",
            "openapi-github-secret"));
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            TestGateway.policyWith(Map.of("ernest", PARKED), null),
            "dry-run",
            environment);
    TestGateway.Answer served = gw.call("GET", OpenApiDocument.PATH, null, Map.of());
    assertEquals(200, served.status(), "the document is served without a token");
    document = served.body();
  }

  @AfterAll
  static void stop() throws Exception {
    if (gw != null) {
      gw.close();
    }
    if (slack != null) {
      slack.close();
    }
  }

  @Test
  void itsOperationsAreExactlyTheRoutesTheGatewayServes() {
    Set<String> documented = new TreeSet<>();
    document
        .path("paths")
        .properties()
        .forEach(
            path ->
                path.getValue()
                    .fieldNames()
                    .forEachRemaining(
                        method ->
                            documented.add(method.toUpperCase(Locale.ROOT) + " " + path.getKey())));
    // A route's trailing {rest*} (the rest of the path) is an OpenAPI path parameter {rest}.
    assertEquals(
        new TreeSet<>(gw.gateway.routes().stream().map(r -> r.replace("*}", "}")).toList()),
        documented);
    assertEquals("3.1.0", document.path("openapi").asText());
    assertTrue(
        document.at("/components/schemas/Plan/$id").asText().endsWith("plan.schema.json"),
        "the plan schema is the protocol's");
  }

  @Test
  void theOperatorApisAnswersMatchTheDocument() {
    check("GET", "/healthz", gw.call("GET", "/healthz", null, Map.of()));
    check("GET", "/readyz", gw.call("GET", "/readyz", null, Map.of()));
    check("GET", "/v1/runs", gw.call("GET", "/v1/runs", null, Map.of()));
    check("GET", "/v1/runs", gw.operator("GET", "/v1/runs?status=nonsense", null));
    check("POST", "/v1/runs", gw.operator("POST", "/v1/runs", "{\"txt\": 1}"));

    TestGateway.Answer created =
        gw.operator(
            "POST", "/v1/runs", "{\"text\": \"summarize the open issues in acme/widgets\"}");
    check("POST", "/v1/runs", created);
    String runId = created.body().path("run_id").asText();
    gw.finish(runId);
    check("GET", "/v1/runs/{id}", gw.operator("GET", "/v1/runs/" + runId, null));
    check("GET", "/v1/runs/{id}", gw.operator("GET", "/v1/runs/" + UUID.randomUUID(), null));
    check(
        "POST", "/v1/runs/{id}/cancel", gw.operator("POST", "/v1/runs/" + runId + "/cancel", null));
    check("GET", "/v1/runs", gw.operator("GET", "/v1/runs?limit=5", null));
    check("GET", "/v1/gates", gw.operator("GET", "/v1/gates?limit=3", null));
    check("GET", "/v1/skills", gw.operator("GET", "/v1/skills", null));
    check("GET", "/v1/policy", gw.operator("GET", "/v1/policy", null));
    String manifest = gw.operator("GET", "/v1/policy", null).body().path("source").asText();
    check(
        "POST",
        "/v1/policy/replay",
        gw.operator(
            "POST",
            "/v1/policy/replay",
            Json.write(
                Map.of(
                    "manifest",
                    manifest.replace("      - github.search_issues\n", ""),
                    "runs",
                    5))));
    check(
        "POST",
        "/v1/policy/replay",
        gw.operator("POST", "/v1/policy/replay", Json.write(Map.of("manifest", "agents: {}"))));
    check("GET", "/v1/audit/verify", gw.operator("GET", "/v1/audit/verify", null));
    check(
        "POST",
        "/v1/evals",
        gw.operator(
            "POST",
            "/v1/evals",
            "{\"suite\": \"documented\", \"case\": \"one\", \"run_id\": \""
                + runId
                + "\", \"passed\": true, \"expected\": {}, \"actual\": {}}"));
    check("POST", "/v1/evals", gw.operator("POST", "/v1/evals", "{\"suite\": 1}"));
    check("GET", "/v1/evals", gw.operator("GET", "/v1/evals?suite=documented", null));
    check("GET", "/v1/evals", gw.operator("GET", "/v1/evals?run=nope", null));
    check(
        "POST",
        "/v1/invocations/{id}/resolve",
        gw.operator(
            "POST",
            "/v1/invocations/" + UUID.randomUUID() + "/resolve",
            "{\"outcome\": \"performed\", \"reason\": \"seen upstream\"}"));
  }

  @Test
  void theAgentApisAnswersMatchTheDocument() {
    String runId = gw.submit("open an issue in acme/widgets titled 'Documented'");
    gw.followUntil(
        runId,
        e -> "file".equals(e.path("step_ref").asText()) && "running".equals(e.path("to").asText()));
    JsonNode step =
        StreamSupport.stream(gw.story(runId).path("steps").spliterator(), false)
            .filter(s -> "ernest".equals(s.path("agent").asText()))
            .findFirst()
            .orElseThrow();
    String token =
        new TokenIssuer(SigningKeys.loadOrCreate(home), Gateway.ISSUER, InstantSource.system())
            .mint(
                "ernest",
                UUID.fromString(runId),
                UUID.fromString(step.path("step_id").asText()),
                step.path("attempt").asInt(),
                Instant.now().plus(Duration.ofMinutes(5)))
            .token();
    Map<String, String> auth =
        Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json");

    check("GET", "/v1/agent/context", gw.call("GET", "/v1/agent/context", null, auth));
    check("POST", "/v1/agent/heartbeat", gw.call("POST", "/v1/agent/heartbeat", null, auth));
    ObjectNode call = Json.STRICT.createObjectNode();
    call.putObject("input").put("owner", "acme").put("repo", "widgets").put("title", "Documented");
    check(
        "POST",
        "/v1/agent/skills/{skill}",
        gw.call("POST", "/v1/agent/skills/github.create_issue", call.toString(), auth));
    check(
        "POST",
        "/v1/agent/skills/{skill}",
        gw.call("POST", "/v1/agent/skills/slack.post_message", call.toString(), auth));
    check(
        "POST",
        "/v1/agent/result",
        gw.call(
            "POST",
            "/v1/agent/result",
            "{\"status\": \"succeeded\", \"output\": {\"done\": true}, \"summary\": \"filed\"}",
            auth));
    check(
        "POST",
        "/v1/agent/result",
        gw.call("POST", "/v1/agent/result", "{\"status\": \"succeeded\"}", auth));
    check(
        "GET",
        "/v1/agent/context",
        gw.call("GET", "/v1/agent/context", null, Map.of("Authorization", "Bearer nonsense")));
    gw.finish(runId);
  }

  @Test
  void theCheckRefusesAnswersTheDocumentDoesNotDescribe() {
    assertEquals(
        List.of(
            "$.run_id: does not match the regex pattern ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            "$: required property 'replayed' not found"),
        violations(
            "POST",
            "/v1/runs",
            202,
            "{\"run_id\": \"x\", \"status\": \"received\", \"trace_id\": \"0123456789abcdef0123456789abcdef\"}"));
    List<String> unknownCode =
        violations("GET", "/v1/runs/{id}", 404, "{\"error\": \"gone\", \"message\": \"m\"}");
    assertEquals(1, unknownCode.size(), unknownCode.toString());
    assertTrue(
        unknownCode.getFirst().startsWith("$.error: does not have a value in the enumeration"),
        unknownCode.toString());
    assertEquals(
        List.of("status 418 is not documented"), violations("GET", "/v1/runs/{id}", 418, "{}"));
  }

  @Test
  void itsErrorCodesAreThoseOfTheProtocol() throws Exception {
    Set<String> codes = new TreeSet<>();
    for (Field f : ErrorCodes.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        codes.add((String) f.get(null));
      }
    }
    Set<String> documented = new TreeSet<>();
    document
        .at("/components/schemas/Error/properties/error/enum")
        .forEach(c -> documented.add(c.asText()));
    assertEquals(codes, documented);
  }

  /**
   * Asserts that {@code answer}'s status is documented for {@code method path} and that its JSON
   * body (if the document gives one) matches the documented schema.
   */
  private static void check(String method, String path, TestGateway.Answer answer) {
    assertEquals(
        List.of(),
        violations(method, path, answer.status(), answer.raw().body()),
        method
            + " "
            + path
            + " "
            + answer.status()
            + " does not match the document: "
            + answer.raw().body());
  }

  /**
   * What is wrong with answering {@code method path} with {@code status} and {@code body}: the
   * status is not documented, or the body does not match the documented JSON schema.
   */
  private static List<String> violations(String method, String path, int status, String body) {
    String pointer =
        "/paths/" + escape(path) + "/" + method.toLowerCase(Locale.ROOT) + "/responses/" + status;
    JsonNode response = document.at(pointer);
    if (response.isMissingNode()) {
      return List.of("status " + status + " is not documented");
    }
    if (response.has("$ref")) {
      pointer = response.get("$ref").asText().substring(1);
      response = document.at(pointer);
    }
    if (response.path("content").path("application/json").path("schema").isMissingNode()) {
      return List.of();
    }
    ObjectNode root = document.deepCopy();
    root.put("$ref", "#" + pointer + "/content/application~1json/schema");
    JsonSchema compiled = JsonSchemas.compileTrusted(root);
    try {
      return JsonSchemas.violations(compiled, Json.LENIENT.readTree(body));
    } catch (java.io.IOException e) {
      return List.of("the body is not JSON: " + e.getMessage());
    }
  }

  private static String escape(String path) {
    return path.replace("~", "~0").replace("/", "~1");
  }
}
