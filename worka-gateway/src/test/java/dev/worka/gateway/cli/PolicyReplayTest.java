package dev.worka.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Policy replay through its real entry points ({@code POST /v1/policy/replay}, {@code worka policy
 * replay}) against a real Gateway whose runs were recorded by the scripted planner and the built-in
 * workers: a stricter manifest shows allow → deny, a looser one deny → allow, the same one no
 * change; what was never recorded is reported not replayable; a replay writes nothing but its eval
 * rows.
 */
class PolicyReplayTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  @TempDir Path dir;
  TestGateway gw;
  Map<String, String> env;

  /** The tables a replay must leave as they were. */
  static final List<String> TABLES =
      List.of(
          "runs",
          "steps",
          "plans",
          "gates",
          "burns",
          "skill_invocations",
          "invocation_lock_events",
          "run_events",
          "artifacts",
          "policy_manifests",
          "policy_activations",
          "run_notifications",
          "model_usage");

  @BeforeEach
  void start() throws Exception {
    gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests());
    env = Map.of("WORKA_URL", gw.baseUrl, "WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN);
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  record Result(int status, String out, String err) {}

  Result worka(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        WorkaCli.execute(env, new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  JsonNode replay(String manifest, String windowField, Object windowValue) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("manifest", manifest);
    if (windowField != null) {
      body.put(windowField, windowValue);
    }
    TestGateway.Answer a = gw.operator("POST", "/v1/policy/replay", Json.write(body));
    assertEquals(200, a.status(), a.raw().body());
    return a.body();
  }

  static List<JsonNode> examples(JsonNode replay, String change) {
    List<JsonNode> out = new ArrayList<>();
    replay.path("examples").path(change).forEach(out::add);
    return out;
  }

  static JsonNode find(List<JsonNode> decisions, String runId, String action) {
    for (JsonNode d : decisions) {
      if (d.path("run_id").asText().equals(runId) && d.path("action").asText().equals(action)) {
        return d;
      }
    }
    return null;
  }

  @Test
  void aReplayShowsWhatAStricterALooserAndTheSameManifestWouldChangeAndPerformsNothing()
      throws Exception {
    String builtin = TestGateway.builtinPolicyForTests();
    String stricter = builtin.replace("      - github.create_issue\n", "");
    assertFalse(stricter.equals(builtin));

    // Recorded under the built-in policy: an allowed plan and call, a call its condition denied,
    // and
    // a rejected plan.
    String filed = gw.submit("open an issue in acme/widgets titled 'first'");
    assertEquals("succeeded", gw.finish(filed).path("status").asText());
    String leak = gw.submit("open an issue in acme/secret-plans titled 'Leak'");
    assertEquals("failed", gw.finish(leak).path("status").asText());
    String dangerous = gw.submit("delete the repository acme/widgets");
    assertEquals("rejected", gw.finish(dangerous).path("status").asText());

    // The same manifest: nothing changes; the denied call (its input never stored) is not
    // replayable, and says why.
    JsonNode same = replay(builtin, "runs", 10);
    assertEquals(3, same.path("window").path("runs_read").asInt(), same.toPrettyString());
    assertEquals(0, same.path("counts").path("allow_to_deny").asInt(), same.toPrettyString());
    assertEquals(0, same.path("counts").path("deny_to_allow").asInt(), same.toPrettyString());
    JsonNode unreplayable = find(examples(same, "not_replayable"), leak, "skill.invoke");
    assertNotNull(unreplayable, same.toPrettyString());
    assertEquals("deny", unreplayable.path("recorded").asText());
    assertNull(unreplayable.path("candidate").textValue());
    assertTrue(
        unreplayable.path("candidate_reason").asText().contains("input is not recorded"),
        unreplayable.toString());
    assertTrue(same.path("counts").path("unchanged").asInt() >= 6, same.toPrettyString());

    // Lower call limits: an allowed call cannot be called unchanged, the counts of the time are
    // not decided again.
    JsonNode limited =
        replay(TestGateway.withLimit(builtin, "max_skill_calls_per_step", "1"), "runs", 10);
    JsonNode counted = find(examples(limited, "not_replayable"), filed, "skill.invoke");
    assertNotNull(counted, limited.toPrettyString());
    assertTrue(
        counted
            .path("candidate_reason")
            .asText()
            .contains("lowers limits.max_skill_calls_per_step"),
        counted.toString());
    assertEquals(0, limited.path("counts").path("allow_to_deny").asInt(), limited.toPrettyString());

    // Stricter: ernest loses github.create_issue. The plans that gave it the skill and the
    // performed call are allow → deny; the call denied before stays denied (its grants decide).
    long rowsBefore = evalRows();
    Map<String, Long> tablesBefore = counts();
    JsonNode strict = replay(stricter, "runs", 10);
    assertEquals(tablesBefore, counts(), "a replay changes no table but evals");
    assertEquals(
        rowsBefore + strict.path("counts").path("decisions").asLong(),
        evalRows(),
        "one eval row per decision");
    List<JsonNode> denied = examples(strict, "allow_to_deny");
    JsonNode call = find(denied, filed, "skill.invoke");
    assertNotNull(call, strict.toPrettyString());
    assertEquals("github.create_issue", call.path("skill").asText());
    assertEquals("ernest", call.path("subject").asText());
    assertEquals("file", call.path("step_ref").asText());
    assertTrue(call.path("gate_id").isTextual());
    assertTrue(
        call.path("recorded_reason").asText().contains("holds skill.invoke"), call.toString());
    assertTrue(
        call.path("candidate_reason")
            .asText()
            .contains("agent ernest is not granted skill github.create_issue"),
        call.toString());
    JsonNode plan = find(denied, filed, "plan.submit");
    assertNotNull(plan, strict.toPrettyString());
    assertTrue(
        plan.path("candidate_reason").asText().startsWith("plan rejected:"), plan.toString());
    assertTrue(plan.path("candidate_reason").asText().contains("github.create_issue"));
    assertNotNull(find(denied, leak, "plan.submit"), strict.toPrettyString());
    assertEquals(3, strict.path("counts").path("allow_to_deny").asInt(), strict.toPrettyString());
    assertEquals(0, strict.path("counts").path("deny_to_allow").asInt());
    JsonNode row = bySubject(strict, "skill.invoke", "ernest", "github.create_issue");
    assertEquals(1, row.path("allow_to_deny").asInt(), row.toString());
    assertEquals(1, row.path("unchanged").asInt(), "the call denied before: " + row);

    // Its eval rows: suite policy-replay, passed = unchanged, the old and new decision.
    JsonNode evalRow = evalRow(strict.path("replay_id").asText(), call.path("gate_id").asText());
    assertFalse(evalRow.path("passed").asBoolean());
    assertEquals(filed, evalRow.path("run_id").asText());
    assertEquals("allow", evalRow.path("expected").path("decision").asText());
    assertEquals("deny", evalRow.path("actual").path("decision").asText());
    assertEquals("allow_to_deny", evalRow.path("actual").path("change").asText());

    // The stricter manifest applied, a run recorded under it; the built-in is looser for that run.
    Path strictFile = dir.resolve("stricter.yaml");
    Files.writeString(strictFile, stricter);
    assertEquals(0, worka("policy", "apply", strictFile.toString()).status());
    String later = gw.submit("open an issue in acme/widgets titled 'later'");
    assertEquals("rejected", gw.finish(later).path("status").asText());
    JsonNode loose = replay(builtin, "runs", 1);
    assertEquals(1, loose.path("window").path("runs_read").asInt(), "--runs 1: the newest run");
    JsonNode allowed = find(examples(loose, "deny_to_allow"), later, "plan.submit");
    assertNotNull(allowed, loose.toPrettyString());
    assertEquals("deny", allowed.path("recorded").asText());
    assertTrue(allowed.path("recorded_reason").asText().startsWith("plan rejected:"));
    assertEquals("allow", allowed.path("candidate").asText());
    assertEquals(0, loose.path("counts").path("allow_to_deny").asInt(), loose.toPrettyString());

    // --since: a run created 10 days ago is outside 7d, inside 30d.
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.executeUpdate(
          "update runs set created_at = now() - interval '10 days' where id = '" + filed + "'");
    }
    assertEquals(3, replay(builtin, "since", "7d").path("window").path("runs_read").asInt());
    assertEquals(4, replay(builtin, "since", "30d").path("window").path("runs_read").asInt());

    // The CLI prints the table and the examples with the old and the new reason.
    Result printed = worka("policy", "replay", strictFile.toString(), "--since", "30d");
    assertEquals(0, printed.status(), printed.out() + printed.err());
    assertTrue(printed.out().contains("replayed "), printed.out());
    assertTrue(printed.out().contains("created in the last 30d"), printed.out());
    assertTrue(printed.out().contains("allow → deny 3"), printed.out());
    assertTrue(printed.out().contains("github.create_issue"), printed.out());
    assertTrue(printed.out().contains("run " + filed + " step file skill.invoke"), printed.out());
    assertTrue(printed.out().contains("was: allow"), printed.out());
    assertTrue(
        printed.out().contains("now: deny — agent ernest is not granted skill github.create_issue"),
        printed.out());
    assertTrue(
        printed.out().contains("not replayable 0"),
        "the call denied before is decided by its grants now: " + printed.out());
    assertTrue(printed.out().contains("recorded as eval suite policy-replay"), printed.out());
    assertEquals(
        2,
        worka("policy", "replay", strictFile.toString(), "--since", "7d", "--runs", "2").status());
  }

  @Test
  void aCandidateThatDoesNotCompileGetsTheCompilersErrorsAndBadRequestsAreRefused()
      throws Exception {
    TestGateway.Answer invalid =
        gw.operator(
            "POST",
            "/v1/policy/replay",
            Json.write(Map.of("manifest", "agents: {}\nwhatever: 1\n", "runs", 5)));
    assertEquals(422, invalid.status(), invalid.raw().body());
    assertEquals("invalid_policy", invalid.body().path("error").asText());
    assertTrue(invalid.body().path("message").asText().contains("whatever"), invalid.raw().body());
    assertTrue(invalid.body().path("violations").size() > 0);

    Path broken = dir.resolve("broken.yaml");
    Files.writeString(broken, "agents: {}\nwhatever: 1\n");
    Result cli = worka("policy", "replay", broken.toString());
    assertEquals(1, cli.status(), cli.out() + cli.err());
    assertTrue(cli.out().contains("is invalid, nothing was replayed"), cli.out());

    String manifest = TestGateway.builtinPolicyForTests();
    for (Map<String, Object> bad :
        List.<Map<String, Object>>of(
            Map.of("manifest", manifest, "runs", 0),
            Map.of("manifest", manifest, "runs", 1001),
            Map.of("manifest", manifest, "since", "forever"),
            Map.of("manifest", manifest, "since", "400d"),
            Map.of("manifest", manifest, "since", "7d", "runs", 3),
            Map.of("manifest", manifest, "extra", true),
            Map.of("runs", 3))) {
      TestGateway.Answer refused = gw.operator("POST", "/v1/policy/replay", Json.write(bad));
      assertEquals(422, refused.status(), bad + " → " + refused.raw().body());
      assertEquals("invalid_body", refused.body().path("error").asText());
    }
    assertEquals(
        401,
        gw.call(
                "POST",
                "/v1/policy/replay",
                Json.write(Map.of("manifest", manifest)),
                Map.of("Content-Type", "application/json"))
            .status());
    assertEquals(0, evalRows(), "nothing refused wrote an eval row");
  }

  static JsonNode bySubject(JsonNode replay, String action, String subject, String skill) {
    for (JsonNode row : replay.path("by_subject")) {
      if (row.path("action").asText().equals(action)
          && row.path("subject").asText().equals(subject)
          && row.path("skill").asText().equals(skill)) {
        return row;
      }
    }
    throw new AssertionError("no row " + action + " " + subject + " " + skill + " in " + replay);
  }

  long evalRows() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select count(*) from evals where suite = 'policy-replay'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  Map<String, Long> counts() throws SQLException {
    Map<String, Long> out = new LinkedHashMap<>();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (String table : TABLES) {
        try (ResultSet rs = s.executeQuery("select count(*) from " + table)) {
          rs.next();
          out.put(table, rs.getLong(1));
        }
      }
    }
    return out;
  }

  JsonNode evalRow(String replayId, String gateId) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select json_build_object('passed', passed, 'run_id', run_id, 'expected', expected,"
                    + " 'actual', actual)::text from evals where suite = 'policy-replay'"
                    + " and case_name like 'replay "
                    + UUID.fromString(replayId)
                    + " %gate "
                    + UUID.fromString(gateId)
                    + "'")) {
      assertTrue(rs.next(), "an eval row of replay " + replayId + " for gate " + gateId);
      JsonNode row = Json.LENIENT.readTree(rs.getString(1));
      assertFalse(rs.next(), "one row per decision");
      return row;
    }
  }
}
