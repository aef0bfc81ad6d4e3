package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Gateway killed (SIGKILL) in the window between the allow gate of a live side effect and the
 * record of its outcome, against a GitHub MCP server that counts its effects: the next Gateway
 * retries the step, the worker makes the same call, and the call is reconciled by its marker
 * instead of being performed again blindly — one effect either way.
 */
class CrashWindowTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  private static final String GITHUB_TOKEN = "ghp_crashwindowtesttoken0123456789";

  @TempDir Path home;

  private Map<String, String> environment(CountingGithubMcpServer server) throws Exception {
    String policy = TestGateway.builtinPolicyForTests();
    policy = TestGateway.withLimit(policy, "max_attempts", "3");
    policy = TestGateway.withLimit(policy, "retry_backoff", "100ms");
    policy = TestGateway.withLimit(policy, "retry_backoff_max", "200ms");
    Files.writeString(home.resolve("policy.yaml"), policy);
    Map<String, String> env = new HashMap<>();
    env.put("WORKA_DATABASE_URL", db.url().jdbcUrl());
    env.put("WORKA_DATABASE_USER", db.url().user());
    if (db.url().password() != null) {
      env.put("WORKA_DATABASE_PASSWORD", db.url().password());
    }
    env.put("WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN);
    env.put("WORKA_POLICY_FILE", home.resolve("policy.yaml").toString());
    env.put("WORKA_INSTALL_DIR", Path.of("..").toAbsolutePath().normalize().toString());
    env.put("WORKA_SIDE_EFFECTS", "live");
    env.put("WORKA_LEASE_SECONDS", "2");
    // A call without a recorded outcome counts as under way for this long (the MCP call timeout).
    env.put("WORKA_SKILL_TIMEOUT", "2s");
    env.put("GITHUB_MCP_URL", server.url());
    env.put("GITHUB_TOKEN", GITHUB_TOKEN);
    return env;
  }

  @Test
  void killedAfterTheEffectTheNextGatewayFindsItUpstreamAndDoesNotRepeatIt() throws Exception {
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of())) {
      Map<String, String> env = environment(server);
      CountingGithubMcpServer.Block held =
          server.blockNextCall("create_issue", CountingGithubMcpServer.Phase.AFTER_EFFECT);
      String runId;
      try (GatewayProcess first = GatewayProcess.start(home, env)) {
        runId = submit(first, "open an issue in acme/widgets titled 'Crash after'");
        assertTrue(held.awaitBlocked(Duration.ofSeconds(90)), "the call reached the server");
        assertEquals(
            1, server.effects("create_issue"), "the issue exists; the Gateway has not heard back");
        first.kill();
        assertEquals(List.of(), first.descendants(), "no worker outlives its Gateway");
      }
      held.release(); // its answer goes to a dead connection
      assertEquals("started", invocationStatus(runId), "the outcome was never recorded");

      try (GatewayProcess second = GatewayProcess.start(home, env)) {
        JsonNode story = finish(second, runId);
        assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      }
      assertEquals(
          1,
          server.effects("create_issue"),
          "one issue, although two attempts called create_issue");
      assertEquals(
          1, server.calls("create_issue"), "the second attempt looked the issue up instead");
      assertTrue(server.calls("list_issues") >= 1);
      assertEquals("succeeded", invocationStatus(runId));
      assertEquals("https://github.test/acme/widgets/issues/1", single(runId, "upstream_ref"));
      // Who finds the effect first is a race this test does not steer: the retried worker's call
      // (its allow gate says reconciliation found it), or the second Gateway's sweep of abandoned
      // calls (the invocation says so, and the worker's call then replays it). Either way it was
      // found upstream and never repeated.
      List<String> reasons = gateReasons(runId);
      String note = single(runId, "error");
      boolean foundByTheCall =
          reasons.stream().anyMatch(r -> r.contains("reconciliation found its effect upstream"));
      boolean foundByTheSweep =
          note != null
              && note.startsWith("reconciled by the Gateway: the effect exists upstream")
              && reasons.stream().anyMatch(r -> r.startsWith("replay of invocation "));
      assertTrue(foundByTheCall || foundByTheSweep, reasons + " / " + note);
      assertEquals(List.of("acquired", "replayed"), lockEvents(runId));
      everyEffectFollowsAnAllowGate(runId);
    }
  }

  @Test
  void killedBeforeTheEffectTheNextGatewayFindsNothingUpstreamAndPerformsItOnce() throws Exception {
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of())) {
      Map<String, String> env = environment(server);
      CountingGithubMcpServer.Block held =
          server.blockNextCall("create_issue", CountingGithubMcpServer.Phase.BEFORE_EFFECT);
      String runId;
      try (GatewayProcess first = GatewayProcess.start(home, env)) {
        runId = submit(first, "open an issue in acme/widgets titled 'Crash before'");
        assertTrue(held.awaitBlocked(Duration.ofSeconds(90)), "the call reached the server");
        first.kill();
      }
      held.abort(); // the request never got as far as the effect
      assertEquals(0, server.effects("create_issue"));

      try (GatewayProcess second = GatewayProcess.start(home, env)) {
        JsonNode story = finish(second, runId);
        assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      }
      assertEquals(1, server.effects("create_issue"), "performed once, by the second Gateway");
      String invocation = single(runId, "id");
      CountingGithubMcpServer.Issue issue = server.issues("acme", "widgets").get(0);
      assertTrue(
          issue.body().contains("worka-invocation:" + invocation),
          "the same invocation, the same marker");
      assertTrue(
          gateReasons(runId).stream().anyMatch(r -> r.contains("found no effect upstream")),
          gateReasons(runId).toString());
      assertEquals(List.of("acquired", "acquired", "released"), lockEvents(runId));
      everyEffectFollowsAnAllowGate(runId);
    }
  }

  private static String submit(GatewayProcess gateway, String text) {
    TestGateway.Answer a =
        gateway.call(
            "POST",
            "/v1/runs",
            "{\"text\": "
                + dev.worka.protocol.Json.write(
                    dev.worka.protocol.Json.STRICT.getNodeFactory().textNode(text))
                + "}",
            TestGateway.OPERATOR_TOKEN);
    assertEquals(202, a.status(), a.raw().body());
    return a.body().path("run_id").asText();
  }

  /** Waits (bounded) for the run to end, reading its story. */
  private static JsonNode finish(GatewayProcess gateway, String runId) {
    return await("run " + runId + " ending (its story)")
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> gateway.call("GET", "/v1/runs/" + runId, null, TestGateway.OPERATOR_TOKEN).body(),
            story ->
                Set.of("succeeded", "failed", "rejected", "cancelled")
                    .contains(story.path("status").asText()));
  }

  private static String invocationStatus(String runId) throws Exception {
    return single(runId, "status");
  }

  private static String single(String runId, String column) throws Exception {
    List<String> values =
        strings("select " + column + "::text from skill_invocations where run_id = ?::uuid", runId);
    assertEquals(1, values.size(), "one invocation: " + values);
    return values.get(0);
  }

  private static List<String> gateReasons(String runId) throws Exception {
    return strings("select reason from gates where run_id = ?::uuid order by chain_index", runId);
  }

  private static List<String> lockEvents(String runId) throws Exception {
    return strings(
        "select lock_status from invocation_lock_events where run_id = ?::uuid order by id", runId);
  }

  /**
   * Every invocation's effect was preceded by an allow gate for its skill in its run (DESIGN §2.4).
   */
  private static void everyEffectFollowsAnAllowGate(String runId) throws Exception {
    List<String> missing =
        strings(
            "select i.id::text from skill_invocations i where i.run_id = ?::uuid"
                + " and not exists (select 1 from gates g where g.id = i.gate_id and g.status = 'allow')",
            runId);
    assertEquals(List.of(), missing);
  }

  private static List<String> strings(String sql, String runId) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, runId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }
}
