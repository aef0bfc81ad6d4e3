package dev.worka.gateway.invocation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.Sha256;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.protocol.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run's evidence (issue 14 item 3): each effect's upstream reference and each output larger than
 * {@link Evidence#LARGE_OUTPUT_BYTES} is an artifact with its SHA-256, linked to its run, step and
 * invocation, listed in the run story and readable by id — written by the statement that records
 * the call's outcome, so a call never has an outcome without its evidence. Live, against the
 * counting GitHub MCP server.
 */
class EvidenceTest {
  static final String GITHUB_TOKEN = "ghp-evidence-Secret-Token-5150";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  @Test
  void anEffectsUpstreamReferenceIsAnArtifactOfItsRunStepAndInvocation() throws Exception {
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of());
        TestGateway gw =
            TestGateway.startWithEnvironment(
                home,
                db.url(),
                TestGateway.builtinPolicyForTests(),
                "live",
                Map.of("GITHUB_MCP_URL", server.url(), "GITHUB_TOKEN", GITHUB_TOKEN))) {
      JsonNode story = gw.finish(gw.submit("open an issue in acme/widgets titled 'Evidence'"));
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());

      JsonNode invocation = story.path("skill_invocations").get(0);
      String url = invocation.path("upstream_ref").asText();
      assertTrue(url.startsWith("http"), invocation.toString());
      JsonNode artifacts = story.path("artifacts");
      assertEquals(1, artifacts.size(), artifacts.toPrettyString());
      JsonNode artifact = artifacts.get(0);
      assertEquals("upstream_ref", artifact.path("kind").asText());
      assertEquals("github.create_issue", artifact.path("name").asText());
      assertEquals(url, artifact.path("uri").asText());
      assertEquals(Sha256.hex(url), artifact.path("sha256").asText());
      assertEquals(invocation.path("invocation_id"), artifact.path("invocation_id"));
      assertEquals(invocation.path("step_id"), artifact.path("step_id"));

      TestGateway.Answer read =
          gw.operator("GET", "/v1/artifacts/" + artifact.path("artifact_id").asText(), null);
      assertEquals(200, read.status(), read.raw().body());
      assertEquals(story.path("run_id"), read.body().path("run_id"));
      assertTrue(read.body().path("content").isNull(), "a reference has no content");
      assertEquals(404, gw.operator("GET", "/v1/artifacts/" + UUID.randomUUID(), null).status());
      assertEquals(
          401, gw.call("GET", "/v1/artifacts/" + UUID.randomUUID(), null, Map.of()).status());
    }
  }

  @Test
  void anOutputAboveTheSizeIsKeptAsAnArtifactOnceAndASmallOneIsNot() throws Exception {
    Map<String, String> environment = new HashMap<>(SandboxHere.orOff());
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of())) {
      environment.putAll(Map.of("GITHUB_MCP_URL", server.url(), "GITHUB_TOKEN", GITHUB_TOKEN));
      String longBody = "A long report line.\n".repeat(1_000); // 20,000 bytes
      server.seedIssue("acme", "widgets", "Long", longBody);
      server.seedIssue("acme", "widgets", "Short", "short");
      // hari and ernest park: the test speaks for their steps with step tokens.
      List<String> parked = List.of("/bin/sh", "-c", "sleep 600");
      try (TestGateway gw =
          TestGateway.startWithEnvironment(
              home,
              db.url(),
              TestGateway.policyWith(Map.of("hari", parked, "ernest", parked), null),
              "live",
              environment)) {
        String runId = gw.submit("read acme/widgets#1 and acme/widgets#2");
        Map<String, String> planner = speakFor(gw, runId, "plan");
        TestGateway.Answer plan =
            gw.call(
                "POST",
                "/v1/agent/plan",
                """
                {"summary": "Read two issues", "steps": [{"step_ref": "read", "agent": "ernest",
                 "objective": "Read acme/widgets#1 and #2", "skills": ["github.get_issue"],
                 "depends_on": []}]}""",
                planner);
        assertEquals(201, plan.status(), plan.raw().body());
        assertEquals(
            200,
            gw.call("POST", "/v1/agent/result", "{\"status\": \"succeeded\"}", planner).status());
        Map<String, String> auth = speakFor(gw, runId, "read");
        String stepId = stepOf(gw, runId, "read").path("step_id").asText();

        TestGateway.Answer large =
            gw.call("POST", "/v1/agent/skills/github.get_issue", getIssue(1, "k1"), auth);
        assertEquals(200, large.status(), large.raw().body());
        TestGateway.Answer again =
            gw.call("POST", "/v1/agent/skills/github.get_issue", getIssue(1, "k1"), auth);
        assertTrue(again.body().path("replayed").asBoolean(), again.raw().body());
        TestGateway.Answer small =
            gw.call("POST", "/v1/agent/skills/github.get_issue", getIssue(2, "k2"), auth);
        assertEquals(200, small.status(), small.raw().body());

        JsonNode story = gw.story(runId);
        JsonNode artifacts = story.path("artifacts");
        assertEquals(
            1,
            artifacts.size(),
            "one for the large output, none for the small one or the replay: "
                + artifacts.toPrettyString());
        JsonNode artifact = artifacts.get(0);
        assertEquals("output", artifact.path("kind").asText());
        assertEquals("github.get_issue output", artifact.path("name").asText());
        assertEquals(large.body().path("invocation_id"), artifact.path("invocation_id"));
        assertEquals(stepId, artifact.path("step_id").asText());
        assertTrue(artifact.path("uri").isNull(), artifact.toString());

        JsonNode read =
            gw.operator("GET", "/v1/artifacts/" + artifact.path("artifact_id").asText(), null)
                .body();
        String content = read.path("content").asText();
        assertEquals(
            Json.STRICT.readTree(content),
            large.body().path("output"),
            "the cleaned output the worker got");
        assertEquals(Sha256.hex(content), artifact.path("sha256").asText());
        assertEquals(
            content.getBytes(java.nio.charset.StandardCharsets.UTF_8).length,
            artifact.path("content_bytes").asInt());
        assertTrue(content.contains("A long report line."), content.substring(0, 200));
        gw.operator("POST", "/v1/runs/" + runId + "/cancel", null);
      }
    }
  }

  /** Waits until the run's step {@code stepRef} runs; the headers of a worker holding its token. */
  private Map<String, String> speakFor(TestGateway gw, String runId, String stepRef) {
    gw.followUntil(
        runId,
        e ->
            stepRef.equals(e.path("step_ref").asText()) && "running".equals(e.path("to").asText()));
    JsonNode step = stepOf(gw, runId, stepRef);
    String token =
        new TokenIssuer(SigningKeys.loadOrCreate(home), "worka-gateway", InstantSource.system())
            .mint(
                step.path("agent").asText(),
                UUID.fromString(runId),
                UUID.fromString(step.path("step_id").asText()),
                step.path("attempt").asInt(),
                Instant.now().plus(Duration.ofMinutes(5)))
            .token();
    return Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json");
  }

  private static JsonNode stepOf(TestGateway gw, String runId, String stepRef) {
    return StreamSupport.stream(gw.story(runId).path("steps").spliterator(), false)
        .filter(s -> stepRef.equals(s.path("step_ref").asText()))
        .findFirst()
        .orElseThrow();
  }

  private static String getIssue(int number, String key) {
    ObjectNode body = Json.STRICT.createObjectNode();
    body.putObject("input").put("owner", "acme").put("repo", "widgets").put("issue_number", number);
    body.put("idempotency_key", key);
    return body.toString();
  }
}
