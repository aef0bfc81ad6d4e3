package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Renders a run's story (the JSON of {@code GET /v1/runs/{id}}) for people. Values printed on one
 * line have their line breaks made spaces; control characters are escaped by the CLI's writer
 * ({@link TerminalText}).
 */
final class Story {
  private Story() {}

  /** One transition line, as {@code worka run} prints it live. */
  static String transition(JsonNode e) {
    String time = e.path("at").asText("");
    if (time.length() >= 19) {
      time = time.substring(11, 19);
    }
    String what =
        e.path("entity").asText().equals("run") ? "run" : "step " + e.path("step_ref").asText("?");
    String from =
        e.path("from").isNull() || e.path("from").isMissingNode() ? "·" : e.path("from").asText();
    String detail = e.path("detail").isNull() ? "" : e.path("detail").asText("");
    return String.format(
        "  %s  %-14s %s → %s%s",
        time,
        what,
        from,
        e.path("to").asText(),
        detail.isBlank() ? "" : "   " + clip(TerminalText.oneLine(detail), 100));
  }

  static void print(JsonNode run, PrintWriter out) {
    out.printf(
        "run %s  %s%n",
        run.path("run_id").asText(), run.path("status").asText().toUpperCase(Locale.ROOT));
    out.printf("  request   %s%n", TerminalText.oneLine(run.path("text").asText()));
    out.printf(
        "  source    %s  requester %s  trace %s%n",
        run.path("source").asText(),
        TerminalText.oneLine(run.path("requester").asText("-")),
        run.path("trace_id").asText());
    JsonNode pm = run.path("policy_manifest");
    out.printf(
        "  policy    v%s (sha256 %s)%n",
        pm.path("version").asText(), clip(pm.path("sha256").asText(), 12));
    if (!run.path("error").isNull() && !run.path("error").asText("").isEmpty()) {
      out.printf("  error     %s%n", TerminalText.oneLine(run.path("error").asText()));
    }
    JsonNode result = run.path("result");
    if (!result.isNull() && !result.isMissingNode()) {
      out.printf("  result    %s%n", TerminalText.oneLine(result.path("summary").asText()));
    }

    JsonNode plan = run.path("plan");
    out.println();
    if (plan.isNull() || plan.isMissingNode()) {
      out.println("plan: none");
    } else {
      out.printf(
          "plan %s  %s by %s  hash %s%n",
          plan.path("plan_id").asText(),
          plan.path("status").asText(),
          plan.path("created_by").asText(),
          clip(plan.path("plan_hash").asText("-"), 16));
      for (JsonNode reason : plan.path("rejection_reasons")) {
        out.println("  rejected: " + TerminalText.oneLine(reason.asText()));
      }
    }

    out.println();
    out.println("steps:");
    for (JsonNode s : run.path("steps")) {
      out.printf(
          "  %-8s %-8s %-10s attempt %s  skills %s%s%n",
          s.path("step_ref").asText(),
          s.path("agent").asText(),
          s.path("status").asText(),
          s.path("attempt").asText(),
          s.path("skills"),
          s.path("depends_on").isEmpty() ? "" : "  after " + s.path("depends_on"));
      if (!s.path("summary").isNull() && !s.path("summary").asText("").isEmpty()) {
        out.println(
            "           summary: " + clip(TerminalText.oneLine(s.path("summary").asText()), 160));
      }
      if (!s.path("error").isNull() && !s.path("error").asText("").isEmpty()) {
        out.println(
            "           error:   " + clip(TerminalText.oneLine(s.path("error").asText()), 160));
      }
    }

    out.println();
    out.println("gates:");
    if (run.path("gates").isEmpty()) {
      out.println("  none");
    }
    for (JsonNode g : run.path("gates")) {
      out.printf(
          "  %-5s %-14s %-24s %-7s %s%n",
          g.path("status").asText().toUpperCase(Locale.ROOT),
          g.path("action").asText(),
          g.path("skill").isNull() ? "" : g.path("skill").asText(),
          g.path("subject").asText(),
          TerminalText.oneLine(g.path("reason").asText()));
    }

    out.println();
    out.println("burns:");
    if (run.path("burns").isEmpty()) {
      out.println("  none");
    }
    for (JsonNode b : run.path("burns")) {
      out.printf(
          "  %-14s %-8s %s%n",
          b.path("kind").asText(),
          b.path("step_ref").asText("-"),
          TerminalText.oneLine(b.path("reason").asText()));
      JsonNode lines = b.path("diagnostics").path("last_lines");
      for (int i = Math.max(0, lines.size() - 5); i < lines.size(); i++) {
        out.println("                 | " + TerminalText.oneLine(lines.get(i).asText()));
      }
    }

    out.println();
    out.println("skill invocations:");
    if (run.path("skill_invocations").isEmpty()) {
      out.println("  none");
    }
    for (JsonNode i : run.path("skill_invocations")) {
      out.printf(
          "  %-24s %-9s lock %-8s %s input %s%n",
          i.path("skill").asText(),
          i.path("status").asText(),
          i.path("lock_status").asText(),
          i.path("dry_run").asBoolean() ? "dry-run" : "live",
          clip(compact(i.path("input")), 100));
    }

    out.println();
    out.println("events:");
    for (JsonNode e : run.path("events")) {
      out.println(transition(e));
    }
    out.flush();
  }

  static String compact(JsonNode node) {
    return node.toString();
  }

  static String clip(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }
}
