package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code worka policy replay FILE [--since D | --runs N]}: the Gateway decides the recorded
 * decisions of past runs again under FILE ({@code POST /v1/policy/replay}) and this prints what
 * would change — counts per action, agent and skill, then examples with the old and the new reason.
 */
@Command(
    name = "replay",
    description =
        "Decide the recorded decisions of past runs (plans, skill calls, model calls, run creation)"
            + " again under FILE, performing nothing, and show what would change: allow → deny,"
            + " deny → allow, per agent and skill, with examples; and what could not be replayed, with"
            + " why. Recorded as the eval suite policy-replay. Exit 1 if FILE is invalid.")
final class PolicyReplayCommand extends WorkaCli.Policy.ManifestCommand {
  @Option(
      names = "--since",
      paramLabel = "D",
      description = "Runs created in the last D (e.g. 7d, 12h); at most 366d.")
  String since;

  @Option(
      names = "--runs",
      paramLabel = "N",
      description = "The newest N runs (1..1000). Without --since or --runs: the newest 100.")
  Integer runs;

  /** Examples of each change printed, at most. */
  static final int SHOWN = 10;

  @Override
  Integer onReadable() throws Exception {
    if (since != null && runs != null) {
      err().println("worka: give --since or --runs, not both");
      return 2;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("manifest", Files.readString(file));
    if (since != null) {
      body.put("since", since);
    }
    if (runs != null) {
      body.put("runs", runs);
    }
    GatewayClient.Answer answer =
        GatewayClient.fromEnvironment(env).post("/v1/policy/replay", body, Map.of());
    if (answer.status() == 422
        && answer
            .body()
            .path("error")
            .asText()
            .equals(dev.worka.protocol.ErrorCodes.INVALID_POLICY)) {
      out().println(file + " is invalid, nothing was replayed:");
      answer
          .body()
          .path("violations")
          .forEach(v -> out().println("  - " + TerminalText.oneLine(v.asText())));
      return 1;
    }
    if (!answer.ok()) {
      err().println("worka: " + TerminalText.oneLine(answer.error()));
      return 2;
    }
    print(out(), file.toString(), answer.body());
    return 0;
  }

  static void print(PrintWriter out, String file, JsonNode r) {
    JsonNode window = r.path("window");
    JsonNode counts = r.path("counts");
    out.printf(
        "replayed %d decision(s) of %d run(s) (%s) under %s (sha256 %s), performing nothing%s%n",
        counts.path("decisions").asLong(),
        window.path("runs_read").asLong(),
        window.has("since")
            ? "created in the last " + window.path("since").asText()
            : "the newest " + window.path("runs").asLong(),
        TerminalText.oneLine(file),
        r.path("candidate_sha256").asText().substring(0, 12),
        window.path("truncated").asBoolean() ? "; TRUNCATED at the replay's bounds" : "");
    out.printf(
        "  unchanged %d · allow → deny %d · deny → allow %d · not replayable %d%n",
        counts.path("unchanged").asLong(),
        counts.path("allow_to_deny").asLong(),
        counts.path("deny_to_allow").asLong(),
        counts.path("not_replayable").asLong());
    out.println();
    String row = "%-13s %-20s %-26s %9s %11s %11s  %14s%n";
    out.printf(
        row,
        "action",
        "subject",
        "skill",
        "unchanged",
        "allow→deny",
        "deny→allow",
        "not replayable");
    for (JsonNode s : r.path("by_subject")) {
      out.printf(
          row,
          TerminalText.oneLine(s.path("action").asText()),
          TerminalText.oneLine(s.path("subject").asText()),
          TerminalText.oneLine(s.path("skill").asText("-")),
          s.path("unchanged").asLong(),
          s.path("allow_to_deny").asLong(),
          s.path("deny_to_allow").asLong(),
          s.path("not_replayable").asLong());
    }
    examples(out, "allow → deny", r.path("examples").path("allow_to_deny"), true);
    examples(out, "deny → allow", r.path("examples").path("deny_to_allow"), true);
    examples(out, "not replayable", r.path("examples").path("not_replayable"), false);
    JsonNode refusals = r.path("launch_refusals");
    if (!refusals.isEmpty()) {
      out.println();
      out.println("note: `worka policy apply` of this file would be refused by this host:");
      refusals.forEach(x -> out.println("  - " + TerminalText.oneLine(x.asText())));
    }
    out.println();
    out.println(
        "recorded as eval suite "
            + r.path("suite").asText()
            + " (case names start with 'replay "
            + r.path("replay_id").asText()
            + "')");
  }

  private static void examples(PrintWriter out, String title, JsonNode list, boolean changed) {
    if (list.isEmpty()) {
      return;
    }
    out.println();
    out.println(title + ":");
    int shown = 0;
    for (JsonNode d : list) {
      if (shown++ == SHOWN) {
        out.println(
            "  … "
                + (list.size() - SHOWN)
                + " more in the API's answer; every decision is an eval row");
        break;
      }
      out.println(
          "  run "
              + d.path("run_id").asText("-")
              + (d.path("step_ref").isTextual() ? " step " + d.path("step_ref").asText() : "")
              + " "
              + TerminalText.oneLine(d.path("action").asText())
              + (d.path("skill").isTextual()
                  ? " " + TerminalText.oneLine(d.path("skill").asText())
                  : "")
              + " ("
              + TerminalText.oneLine(d.path("subject").asText())
              + ")"
              + (d.path("gate_id").isTextual() ? " gate " + d.path("gate_id").asText() : ""));
      out.println(
          "    was: "
              + d.path("recorded").asText()
              + " — "
              + TerminalText.oneLine(d.path("recorded_reason").asText()));
      out.println(
          changed
              ? "    now: "
                  + d.path("candidate").asText()
                  + " — "
                  + TerminalText.oneLine(d.path("candidate_reason").asText())
              : "    why: " + TerminalText.oneLine(d.path("candidate_reason").asText()));
    }
  }
}
