package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.error.WorkaException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code worka eval run [SUITE.yaml]}: runs an eval suite against a Gateway through its operator
 * API — each case a run created with {@code POST /v1/runs}, judged on its story ({@code GET
 * /v1/runs/{id}}), recorded with {@code POST /v1/evals} — and prints a table. The runner lives in
 * the CLI on purpose: it holds no authority an operator with {@code worka run} lacks, and what it
 * judges changes nothing (DESIGN §2.8).
 */
@Command(
    name = "eval",
    description = "Evaluate Worka's behavior on a suite of requests (docs/evals.md).",
    subcommands = {EvalCommand.RunSuite.class, EvalCommand.ListResults.class})
final class EvalCommand implements Runnable {
  /** The suite {@code worka eval run} runs when given no file. */
  static final String BUILTIN = "evals/builtin.yaml";

  private static final Set<String> TERMINAL =
      Set.of("succeeded", "failed", "rejected", "cancelled");
  private static final Duration POLL = Duration.ofMillis(200);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The built-in suite's text. */
  static String builtinSuite() {
    try (InputStream in = EvalCommand.class.getResourceAsStream(BUILTIN)) {
      if (in == null) {
        throw new IllegalStateException("the built-in eval suite " + BUILTIN + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("could not read the built-in eval suite", e);
    }
  }

  @Command(
      name = "run",
      description =
          "Run SUITE (a YAML file; none: the built-in suite) against the Gateway in dry-run:"
              + " one run per case, each judged and recorded (GET /v1/evals). Exit 0 if every case"
              + " passed, 1 if any failed, 2 if the suite is invalid or the Gateway cannot run it.")
  static final class RunSuite extends WorkaCli.EnvCommand {
    @Parameters(arity = "0..1", paramLabel = "SUITE", description = "the suite file")
    Path file;

    @Option(names = "--case", paramLabel = "NAME", description = "Run only this case (repeatable).")
    List<String> only;

    @Option(
        names = "--parallel",
        defaultValue = "2",
        description = "Runs under way at once (1-16, default ${DEFAULT-VALUE}).")
    int parallel;

    @Override
    public Integer call() {
      String origin;
      String text;
      if (file == null) {
        origin = "the built-in suite";
        text = builtinSuite();
      } else {
        origin = file.toString();
        try {
          text = Files.readString(file);
        } catch (IOException e) {
          err().println("worka: cannot read " + file + ": " + e.getMessage());
          return 2;
        }
      }
      EvalSuite suite;
      switch (EvalSuite.read(text, origin)) {
        case EvalSuite.Reading.Invalid invalid -> {
          err().println("worka: " + origin + " is not a valid eval suite:");
          invalid.errors().forEach(e -> err().println("  - " + e));
          return 2;
        }
        case EvalSuite.Reading.Read read -> suite = read.suite();
      }
      List<EvalSuite.Case> cases = suite.cases();
      if (only != null && !only.isEmpty()) {
        List<EvalSuite.Case> all = cases;
        List<String> unknown =
            only.stream().filter(n -> all.stream().noneMatch(c -> c.name().equals(n))).toList();
        if (!unknown.isEmpty()) {
          err().println("worka: no case " + unknown + " in " + origin);
          return 2;
        }
        cases = cases.stream().filter(c -> only.contains(c.name())).toList();
      }

      if (parallel < 1 || parallel > 16) {
        err().println("worka: --parallel must be between 1 and 16");
        return 2;
      }
      GatewayClient client = GatewayClient.fromEnvironment(env);
      GatewayClient.Answer probe = client.get("/v1/evals?limit=1");
      if (!probe.ok()) {
        err().println("worka: " + probe.error());
        return 2;
      }
      JsonNode environment = probe.body().path("environment");
      String sideEffects = environment.path("side_effects").asText("unknown");
      String model = environment.path("model").asText("unknown");
      if (!sideEffects.equals("dry-run")) {
        err()
            .println(
                "worka: the Gateway runs with WORKA_SIDE_EFFECTS="
                    + sideEffects
                    + "; evals run only against a Gateway in dry-run, so that no case posts, files"
                    + " or comments anything for real. Start one with WORKA_SIDE_EFFECTS=dry-run"
                    + " (the default) and point WORKA_URL at it.");
        return 2;
      }
      if (suite.model().isPresent() && !suite.model().get().equals(model)) {
        err()
            .println(
                "worka: "
                    + origin
                    + " is written for WORKA_MODEL="
                    + suite.model().get()
                    + " but the Gateway uses "
                    + model
                    + "; run it against a Gateway with that model, or drop the suite's model:"
                    + " line if its expectations hold for any model.");
        return 2;
      }

      out()
          .printf(
              "eval suite %s: %d case(s) against %s (side effects: %s, model: %s)%n",
              suite.name(), cases.size(), client.baseUrl(), sideEffects, model);
      out().flush();
      List<Row> rows = new ArrayList<>();
      boolean recordFailed = false;
      // Up to --parallel runs are under way at once; cases are judged and printed in order.
      List<Submitted> submitted = new ArrayList<>();
      for (int i = 0; i < cases.size(); i++) {
        while (submitted.size() < cases.size() && submitted.size() < i + parallel) {
          submitted.add(submit(client, cases.get(submitted.size()), suite.timeout()));
        }
        EvalSuite.Case c = cases.get(i);
        out().printf("[%d/%d] %s ... ", i + 1, cases.size(), c.name());
        out().flush();
        Outcome outcome = await(client, c, submitted.get(i), suite.timeout());
        EvalJudge.Verdict v = outcome.verdict();
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("suite", suite.name());
        record.put("case", c.name());
        record.put("run_id", outcome.runId());
        record.put("passed", v.passed());
        record.put("expected", c.expected());
        record.put("actual", v.actual());
        GatewayClient.Answer recorded = client.post("/v1/evals", record, Map.of());
        String status = v.actual().path("status").asText("-");
        out()
            .printf(
                "%s  %s  run %s%n",
                v.passed() ? "PASS" : "FAIL",
                status,
                outcome.runId() == null ? "-" : outcome.runId());
        v.failures().forEach(f -> out().println("      - " + f));
        if (!recorded.ok()) {
          recordFailed = true;
          err()
              .println(
                  "worka: the result of " + c.name() + " was not recorded: " + recorded.error());
        }
        out().flush();
        rows.add(new Row(c.name(), v.passed(), status, outcome.runId()));
      }
      table(rows);
      long failed = rows.stream().filter(r -> !r.passed()).count();
      out()
          .printf(
              "%d passed, %d failed (results: worka eval list --suite '%s', GET /v1/evals)%n",
              rows.size() - failed, failed, suite.name());
      if (recordFailed) {
        return 2;
      }
      return failed == 0 ? 0 : 1;
    }

    private record Row(String name, boolean passed, String status, String runId) {}

    private record Outcome(String runId, EvalJudge.Verdict verdict) {}

    private void table(List<Row> rows) {
      int width = Math.min(60, rows.stream().mapToInt(r -> r.name().length()).max().orElse(4));
      width = Math.max(width, 4);
      out().println();
      out().printf("%-" + width + "s  %-6s  %-10s  %s%n", "case", "result", "status", "run");
      for (Row r : rows) {
        out()
            .printf(
                "%-" + width + "s  %-6s  %-10s  %s%n",
                Story.clip(r.name(), width),
                r.passed() ? "pass" : "FAIL",
                r.status(),
                r.runId() == null ? "-" : r.runId());
      }
    }

    /** A case's run as created: its id and deadline, or why the Gateway refused it. */
    private record Submitted(String runId, long deadline, String refused) {}

    /** Creates the case's run through {@code POST /v1/runs}, as {@code worka run} would. */
    private static Submitted submit(GatewayClient client, EvalSuite.Case c, Duration timeout) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("text", c.request());
      body.put("requester", Story.clip("eval:" + c.name(), 200));
      body.put("source", c.source());
      GatewayClient.Answer created = client.post("/v1/runs", body, Map.of());
      if (!created.ok()) {
        return new Submitted(null, 0, "the Gateway refused to create the run: " + created.error());
      }
      return new Submitted(
          created.body().path("run_id").asText(), System.nanoTime() + timeout.toNanos(), null);
    }

    /** Waits for the case's run to end (or cancels it at its deadline), then judges it. */
    private static Outcome await(
        GatewayClient client, EvalSuite.Case c, Submitted submitted, Duration timeout) {
      if (submitted.refused() != null) {
        return new Outcome(
            null,
            EvalJudge.unfinished(
                com.fasterxml.jackson.databind.node.MissingNode.getInstance(),
                submitted.refused()));
      }
      String runId = submitted.runId();
      long deadline = submitted.deadline();
      JsonNode story;
      while (true) {
        GatewayClient.Answer answer = client.get("/v1/runs/" + runId);
        if (!answer.ok()) {
          throw new WorkaException("could not read run " + runId + ": " + answer.error());
        }
        story = answer.body();
        if (TERMINAL.contains(story.path("status").asText())) {
          break;
        }
        if (System.nanoTime() - deadline > 0) {
          client.post("/v1/runs/" + runId + "/cancel", Map.of("reason", "eval timeout"), Map.of());
          return new Outcome(
              runId,
              EvalJudge.unfinished(
                  story,
                  "the run did not end within "
                      + timeout.toSeconds()
                      + " s (it was "
                      + story.path("status").asText()
                      + "; cancelled)"));
        }
        try {
          Thread.sleep(POLL);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new WorkaException("interrupted");
        }
      }
      return new Outcome(runId, EvalJudge.judge(c.expect(), story));
    }
  }

  @Command(name = "list", description = "Recorded eval results, newest first (GET /v1/evals).")
  static final class ListResults extends WorkaCli.EnvCommand {
    @Option(names = "--suite", description = "Only this suite.")
    String suite;

    @Option(names = "--run", description = "Only the result of this run id.")
    String run;

    @Option(
        names = "--limit",
        defaultValue = "50",
        description = "How many (default ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
      StringBuilder query = new StringBuilder("/v1/evals?limit=" + limit);
      if (suite != null) {
        query.append("&suite=").append(URLEncoder.encode(suite, StandardCharsets.UTF_8));
      }
      if (run != null) {
        query.append("&run=").append(URLEncoder.encode(run, StandardCharsets.UTF_8));
      }
      GatewayClient.Answer answer = GatewayClient.fromEnvironment(env).get(query.toString());
      if (!answer.ok()) {
        err().println("worka: " + answer.error());
        return 2;
      }
      if (answer.body().path("evals").isEmpty()) {
        out().println("no eval results yet (worka eval run)");
      }
      for (JsonNode e : answer.body().path("evals")) {
        out()
            .printf(
                "%s  %-4s  %-20s  %-30s  run %s%n",
                e.path("at").asText(),
                e.path("passed").asBoolean() ? "pass" : "FAIL",
                Story.clip(e.path("suite").asText(), 20),
                Story.clip(e.path("case").asText(), 30),
                e.path("run_id").asText("-"));
        e.path("actual")
            .path("failures")
            .forEach(f -> out().println("      - " + Story.clip(f.asText(), 500)));
      }
      return 0;
    }
  }
}
