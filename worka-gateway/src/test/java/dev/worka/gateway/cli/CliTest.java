package dev.worka.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.TestGateway;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.store.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The worka command against a real Gateway: what a person sees, and its exit statuses. */
class CliTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  TestGateway gw;
  Map<String, String> env;

  @BeforeEach
  void start() throws Exception {
    gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests());
    env =
        Map.of(
            "WORKA_URL",
            gw.baseUrl,
            "WORKA_OPERATOR_TOKEN",
            TestGateway.OPERATOR_TOKEN,
            "USER",
            "alice");
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  record Result(int status, String out, String err) {}

  Result worka(Map<String, String> environment, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        WorkaCli.execute(environment, new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  @Test
  void runPrintsEachTransitionThenTheResultAndSucceeds() {
    Result r = worka(env, "run", "open an issue in acme/widgets titled 'Login test is flaky'");
    assertEquals(0, r.status(), r.out() + r.err());
    assertTrue(r.out().contains("received → planning"), r.out());
    assertTrue(r.out().contains("step file"), r.out());
    assertTrue(r.out().contains("delivering → succeeded"), r.out());
    assertTrue(
        r.out().contains("succeeded: Opened issue 'Login test is flaky' in acme/widgets (dry run"),
        r.out());
    assertTrue(r.out().contains("run id: "), r.out());
  }

  @Test
  void aRefusedRunExitsNonZeroAndShowsWhy() {
    Result r = worka(env, "run", "delete the repository acme/widgets");
    assertEquals(1, r.status());
    assertTrue(r.out().contains("rejected: plan rejected"), r.out());
    assertTrue(r.out().contains("github.delete_repository"), r.out());
    assertTrue(r.out().contains("denied by gate"), r.out());
  }

  @Test
  void runsListAndShowTellTheStory() {
    worka(env, "run", "comment on acme/widgets#7: shipped");
    Result list = worka(env, "runs", "list");
    assertEquals(0, list.status());
    assertTrue(
        list.out().contains("succeeded") && list.out().contains("comment on acme/widgets#7"),
        list.out());
    String runId = list.out().split(" ")[0];
    Result show = worka(env, "runs", "show", runId);
    assertEquals(0, show.status(), show.err());
    for (String section :
        new String[] {
          "plan ",
          "steps:",
          "gates:",
          "ALLOW skill.invoke",
          "github.add_issue_comment",
          "burns:",
          "skill invocations:",
          "events:",
          "requester alice"
        }) {
      assertTrue(show.out().contains(section), section + " missing from\n" + show.out());
    }
    Result json = worka(env, "runs", "show", "--json", runId);
    assertTrue(json.out().contains("\"skill_invocations\""));
    assertEquals(1, worka(env, "runs", "show", "00000000-0000-4000-8000-000000000000").status());
  }

  @Test
  void policyCheckSaysWhatIsWrong(@TempDir Path dir) throws Exception {
    Path good = dir.resolve("good.yaml");
    Files.writeString(good, BuiltinPolicy.source());
    Result ok = worka(env, "policy", "check", good.toString());
    assertEquals(0, ok.status(), ok.out());
    assertTrue(ok.out().contains("is valid"));
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, BuiltinPolicy.source().replace("github.get_issue", "github.get_issu"));
    Result invalid = worka(env, "policy", "check", bad.toString());
    assertEquals(1, invalid.status());
    assertTrue(invalid.out().contains("github.get_issu is not known"), invalid.out());
  }

  @Test
  void invocationsResolveRefusesWhatIsNotUnknownAndAnOutcomeItDoesNotKnow() {
    Result run = worka(env, "run", "open an issue in acme/widgets titled 'resolved?'");
    assertEquals(0, run.status(), run.out() + run.err());
    String runId = run.out().substring(run.out().indexOf("run id: ") + 8).split("\\s")[0];
    Result json = worka(env, "runs", "show", "--json", runId);
    String invocation =
        dev.worka.protocol.Json.parse(json.out())
            .path("skill_invocations")
            .get(0)
            .path("invocation_id")
            .asText();

    Result succeeded =
        worka(env, "invocations", "resolve", invocation, "performed", "--reason", "saw it");
    assertEquals(1, succeeded.status(), succeeded.out() + succeeded.err());
    assertTrue(
        succeeded.err().contains("only an unknown outcome can be resolved"), succeeded.err());
    Result badOutcome = worka(env, "invocations", "resolve", invocation, "maybe", "--reason", "x");
    assertEquals(2, badOutcome.status());
    assertTrue(badOutcome.err().contains("performed or not-performed"), badOutcome.err());
    assertEquals(
        2,
        worka(env, "invocations", "resolve", invocation, "performed").status(),
        "--reason is required");
  }

  @Test
  void auditVerifyReportsAnIntactChainAfterRealRuns() {
    worka(env, "run", "open an issue in acme/widgets titled 'chained'");
    worka(env, "run", "delete the repository acme/widgets");
    Result r = worka(env, "audit", "verify");
    assertEquals(0, r.status(), r.out() + r.err());
    assertTrue(r.out().contains("the audit chain is intact: 3 gate(s)"), r.out());
  }

  @Test
  void policyDiffShowsWhatAnAgentWouldLoseAndApplyMakesItTheActiveVersion(@TempDir Path dir)
      throws Exception {
    Path stricter = dir.resolve("stricter.yaml");
    Files.writeString(
        stricter, TestGateway.builtinPolicyForTests().replace("      - github.create_issue\n", ""));
    Result diff = worka(env, "policy", "diff", stricter.toString());
    assertEquals(0, diff.status(), diff.out() + diff.err());
    assertTrue(diff.out().contains("policy v1 (active)"), diff.out());
    assertTrue(diff.out().contains("agent ernest: loses skills [github.create_issue]"), diff.out());

    Result apply = worka(env, "policy", "apply", stricter.toString());
    assertEquals(0, apply.status(), apply.out() + apply.err());
    assertTrue(apply.out().contains("policy v2 is now active"), apply.out());
    assertTrue(worka(env, "policy", "apply", stricter.toString()).out().contains("no change"));
    assertTrue(worka(env, "policy", "diff", stricter.toString()).out().contains("no changes"));

    Path broken = dir.resolve("broken.yaml");
    Files.writeString(broken, "agents: {}\n");
    assertEquals(1, worka(env, "policy", "apply", broken.toString()).status());
    assertEquals(1, worka(env, "policy", "diff", broken.toString()).status());
  }

  /** The first character of {@code text} a terminal would obey rather than show, or -1. */
  static int firstControl(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (TerminalText.isUnsafe(text.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  /**
   * A requester (a Slack or GitHub stranger, say) puts terminal control sequences in the request:
   * an OSC window title, a screen clear, a C1 CSI, a bidi override, and a line break followed by a
   * forged line. Whatever the CLI prints of that run — live, listed, shown, as JSON — shows them as
   * text and obeys none, and no printed line starts with the forged text.
   */
  @Test
  void controlCharactersFromOutsideAreShownNeverObeyed() throws Exception {
    String hostile =
        "open an issue in acme/widgets titled 'Flaky \u001b[2J\u001b]0;pwned\u0007 test"
            + " \u009b31m \u202egnp.exe'\r\nsucceeded: forged line";
    Result run = worka(env, "run", hostile);
    String runId =
        run.out()
            .lines()
            .filter(l -> l.startsWith("run id: "))
            .findFirst()
            .orElseThrow()
            .substring("run id: ".length())
            .split(" ")[0];
    Result list = worka(env, "runs", "list");
    Result show = worka(env, "runs", "show", runId);
    Result json = worka(env, "runs", "show", "--json", runId);
    for (Result r : java.util.List.of(run, list, show, json)) {
      String all = r.out() + r.err();
      assertEquals(-1, firstControl(all), all);
      assertTrue(all.lines().noneMatch(l -> l.startsWith("succeeded: forged")), all);
    }
    assertTrue(
        show.out().contains("\\x1b[2J\\x1b]0;pwned\\x07 test \\x9b31m \\u202egnp.exe"), show.out());
    assertTrue(
        show.out().contains("gnp.exe' succeeded: forged line"),
        "the line break is a space: " + show.out());
    assertTrue(json.out().contains("\\u001B[2J") || json.out().contains("\\u001b[2J"), json.out());
  }

  @Test
  void withoutAGatewayTheClientSaysHowToStartOne() {
    Result r =
        worka(
            Map.of("WORKA_URL", "http://127.0.0.1:1", "WORKA_OPERATOR_TOKEN", "x".repeat(20)),
            "runs",
            "list");
    assertEquals(2, r.status());
    assertTrue(r.err().contains("bin/worka serve"), r.err());
  }
}
