package dev.worka.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.store.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code worka eval run} through the real CLI entry point against a real Gateway (dry-run, the
 * scripted model): the built-in suite passes and leaves one {@code evals} row per case; a suite
 * with a wrong expectation fails with a diff (so the suite cannot pass vacuously); an eval row is
 * inert — recording one changes no policy, and a row cannot name a run that does not exist.
 */
class EvalCliTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  @TempDir Path dir;

  record Result(int status, String out, String err) {}

  static Result worka(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        WorkaCli.execute(env, new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  @Test
  void theBuiltinSuitePassesAndAWrongExpectationFailsWithADiff() throws Exception {
    try (TestGateway gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests())) {
      Map<String, String> env =
          Map.of("WORKA_URL", gw.baseUrl, "WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN);
      int policyVersion = gw.operator("GET", "/v1/policy", null).body().path("version").asInt();

      Result builtin = worka(env, "eval", "run");
      String shown = builtin.out() + builtin.err();
      int cases =
          EvalSuite.read(EvalCommand.builtinSuite(), "built-in") instanceof EvalSuite.Reading.Read r
              ? r.suite().cases().size()
              : -1;
      assertTrue(cases >= 6, "the built-in suite covers the demo and hostile requests");
      assertEquals(0, builtin.status(), shown);
      assertTrue(builtin.out().contains("[1/" + cases + "] demo-open-issue ... PASS"), shown);
      assertTrue(builtin.out().contains(cases + " passed, 0 failed"), shown);

      JsonNode rows = gw.operator("GET", "/v1/evals?suite=builtin", null).body();
      assertEquals("dry-run", rows.path("environment").path("side_effects").asText());
      assertEquals("scripted", rows.path("environment").path("model").asText());
      assertEquals(cases, rows.path("evals").size(), rows.toString());
      List<String> names = new ArrayList<>();
      for (JsonNode row : rows.path("evals")) {
        names.add(row.path("case").asText());
        assertTrue(row.path("passed").asBoolean(), row.toString());
        String runId = row.path("run_id").asText();
        JsonNode run = gw.operator("GET", "/v1/runs/" + runId, null).body();
        assertEquals(row.path("actual").path("status").asText(), run.path("status").asText());
        assertEquals("api", run.path("source").asText());
        assertTrue(row.path("expected").path("expect").isObject(), row.toString());
        // filtered by run, the row comes back alone
        JsonNode byRun = gw.operator("GET", "/v1/evals?run=" + runId, null).body().path("evals");
        assertEquals(1, byRun.size());
        assertEquals(row.path("case").asText(), byRun.get(0).path("case").asText());
      }
      assertTrue(names.contains("skill-off-the-allowlist-is-rejected"), names.toString());

      // A deliberately wrong expectation: the case fails, the diff says what and how.
      Path wrong = dir.resolve("wrong.yaml");
      Files.writeString(
          wrong,
          """
          suite: wrong
          cases:
            - name: claims-a-refusal
              request: "open an issue in acme/widgets titled 'Login test is flaky'"
              expect:
                status: rejected
                plan:
                  steps:
                    - { agent: daneel, skills: [github.create_issue] }
                gates:
                  - { action: skill.invoke, status: deny }
                output:
                  - contains: "never said"
                  - { path: /skill, equals: github.delete_repository }
          """);
      Result failed = worka(env, "eval", "run", wrong.toString());
      String failedShown = failed.out() + failed.err();
      assertEquals(1, failed.status(), failedShown);
      assertTrue(failed.out().contains("[1/1] claims-a-refusal ... FAIL  succeeded"), failedShown);
      for (String diff :
          List.of(
              "status: expected rejected, got succeeded",
              "plan.steps: expected daneel [github.create_issue], got ernest [github.create_issue]",
              "gates: expected a gate {action skill.invoke, status deny}, got allow plan.submit"
                  + " (hari)",
              "; allow skill.invoke github.create_issue (ernest): agent ernest holds skill.invoke",
              "output: expected to contain \"never said\", got \"Opened issue",
              "output /skill: expected \"github.delete_repository\", got \"github.create_issue\"",
              "0 passed, 1 failed")) {
        assertTrue(failed.out().contains(diff), diff + " missing from\n" + failedShown);
      }
      JsonNode wrongRow =
          gw.operator("GET", "/v1/evals?suite=wrong", null).body().path("evals").get(0);
      assertFalse(wrongRow.path("passed").asBoolean());
      assertEquals(5, wrongRow.path("actual").path("failures").size(), wrongRow.toString());
      assertEquals("rejected", wrongRow.path("expected").path("expect").path("status").asText());

      // Evals inform, never authorize: after all of it the policy is the one it was.
      assertEquals(
          policyVersion, gw.operator("GET", "/v1/policy", null).body().path("version").asInt());
      // A row may name only a real run; an unknown field is refused.
      TestGateway.Answer ghost =
          gw.operator(
              "POST",
              "/v1/evals",
              "{\"suite\": \"s\", \"case\": \"c\", \"passed\": true,"
                  + " \"run_id\": \"00000000-0000-4000-8000-000000000000\"}");
      assertEquals(404, ghost.status(), ghost.body().toString());
      TestGateway.Answer extra =
          gw.operator(
              "POST",
              "/v1/evals",
              "{\"suite\": \"s\", \"case\": \"c\", \"passed\": true, \"policy\": \"allow all\"}");
      assertEquals(422, extra.status(), extra.body().toString());
      assertTrue(extra.body().path("message").asText().contains("unknown field policy"));
      assertEquals(401, gw.call("GET", "/v1/evals", null, Map.of()).status());
    }
  }
}
