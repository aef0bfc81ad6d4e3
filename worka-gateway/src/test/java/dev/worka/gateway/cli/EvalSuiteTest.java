package dev.worka.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading a suite file: an invalid one is refused before any run is created, each problem with its
 * line and field. No Gateway is needed — the refusal happens first (WORKA_URL points nowhere).
 */
class EvalSuiteTest {
  @TempDir Path dir;

  static List<String> errors(String yaml) {
    return assertInstanceOf(EvalSuite.Reading.Invalid.class, EvalSuite.read(yaml, "s.yaml"))
        .errors();
  }

  @Test
  void theBuiltinSuiteIsValid() {
    EvalSuite suite =
        assertInstanceOf(
                EvalSuite.Reading.Read.class,
                EvalSuite.read(EvalCommand.builtinSuite(), "the built-in suite"))
            .suite();
    assertEquals("builtin", suite.name());
    assertEquals("scripted", suite.model().orElseThrow());
  }

  @Test
  void eachProblemNamesItsLineAndField() {
    List<String> errors =
        errors(
            """
            suite: mine
            timeout: forever
            cases:
              - name: one
                request: "open an issue in acme/widgets titled 'x'"
                source: slack
                expect:
                  status: done
                  gates:
                    - { status: maybe, reason: "(" }
                  output:
                    - { contains: a, matches: b }
                  colour: blue
              - name: one
                expect: { status: succeeded }
            """);
    String all = String.join("\n", errors);
    for (String expected :
        List.of(
            "s.yaml:2: timeout: must be a duration such as 90s or 5m, not forever",
            "s.yaml:6: cases[0].source: slack runs start only from a request Slack signed",
            "s.yaml:8: cases[0].expect.status: must be one of succeeded, failed, rejected,"
                + " cancelled, not done",
            "s.yaml:10: cases[0].expect.gates[0].status: must be one of allow, deny, not maybe",
            "s.yaml:10: cases[0].expect.gates[0].reason: is not a valid regular expression",
            "s.yaml:12: cases[0].expect.output[0]: must be one of {contains: TEXT}",
            "s.yaml:13: cases[0].expect: unknown key colour",
            "s.yaml:14: cases[1].request: is required")) {
      assertTrue(all.contains(expected), expected + " missing from\n" + all);
    }
  }

  @Test
  void malformedYamlAndRepeatedNamesAreRefused() {
    assertTrue(
        errors("suite: a\ncases: [\n").get(0).startsWith("s.yaml:3: not readable YAML"),
        errors("suite: a\ncases: [\n").toString());
    assertTrue(
        String.join("\n", errors("suite: a\ncases: []\n")).contains("must be a non-empty list"));
    String repeated =
        String.join(
            "\n",
            errors(
                """
                suite: a
                cases:
                  - {name: x, request: r, expect: {status: failed}}
                  - {name: x, request: r, expect: {status: failed}}
                """));
    assertTrue(repeated.contains("s.yaml:4: cases[1].name: repeats x"), repeated);
  }

  @Test
  void theCliRefusesAnInvalidSuiteBeforeCallingTheGateway() throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "suite: bad\ncases:\n  - name: x\n    request: hi\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        WorkaCli.execute(
            Map.of("WORKA_URL", "http://127.0.0.1:9", "WORKA_OPERATOR_TOKEN", "t"),
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            "eval",
            "run",
            bad.toString());
    assertEquals(2, status, out + "\n" + err);
    assertTrue(err.toString().contains(bad + " is not a valid eval suite:"), err.toString());
    assertTrue(err.toString().contains(bad + ":3: cases[0].expect: is required"), err.toString());
  }
}
