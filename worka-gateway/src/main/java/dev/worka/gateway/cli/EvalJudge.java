package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * Judges one case against the story of its run ({@code GET /v1/runs/{id}}): each expectation that
 * does not hold becomes a failure saying what was expected and what the run showed. It only reads;
 * a verdict changes nothing in the Gateway.
 */
final class EvalJudge {
  /** The longest text of a run kept in a verdict's {@code actual}. */
  static final int MAX_TEXT = 2000;

  static final int MAX_GATES = 50;

  private EvalJudge() {}

  /** The verdict on a case: passed when no failure; {@code actual} is what the run showed. */
  record Verdict(boolean passed, List<String> failures, ObjectNode actual) {}

  static Verdict judge(EvalSuite.Expect expect, JsonNode story) {
    List<String> failures = new ArrayList<>();
    ObjectNode actual = actual(story);
    String status = story.path("status").asText();
    expect
        .status()
        .filter(s -> !s.equals(status))
        .ifPresent(
            s ->
                failures.add(
                    "status: expected "
                        + s
                        + ", got "
                        + status
                        + errorSuffix(story.path("error").asText(null))));
    expect
        .error()
        .ifPresent(
            p -> {
              String error = story.path("error").asText("");
              if (!p.matcher(error).find()) {
                failures.add(
                    "error: expected to match /"
                        + p.pattern()
                        + "/, got "
                        + (error.isEmpty() ? "no error" : quote(error)));
              }
            });
    expect.plan().ifPresent(p -> plan(p, story, failures));
    for (EvalSuite.GateExpect g : expect.gates()) {
      gate(g, story.path("gates"), failures);
    }
    if (!expect.output().isEmpty()) {
      String text = deliveredText(story);
      JsonNode output = story.path("result").path("output");
      for (EvalSuite.OutputExpect o : expect.output()) {
        output(o, text, output, failures);
      }
    }
    actual.set("failures", strings(failures));
    return new Verdict(failures.isEmpty(), failures, actual);
  }

  /** A run that did not end in time: one failure, and what it showed so far. */
  static Verdict unfinished(JsonNode story, String why) {
    ObjectNode actual = actual(story);
    actual.set("failures", strings(List.of(why)));
    return new Verdict(false, List.of(why), actual);
  }

  // --- plan ---------------------------------------------------------------------------------

  private static void plan(EvalSuite.PlanExpect expect, JsonNode story, List<String> failures) {
    JsonNode plan = story.path("plan");
    String status = plan.isObject() ? plan.path("status").asText() : "none";
    expect
        .status()
        .filter(s -> !s.equals(status))
        .ifPresent(s -> failures.add("plan.status: expected " + s + ", got " + status));
    expect
        .reason()
        .ifPresent(
            p -> {
              List<String> reasons = new ArrayList<>();
              plan.path("rejection_reasons").forEach(r -> reasons.add(r.asText()));
              if (reasons.stream().noneMatch(r -> p.matcher(r).find())) {
                failures.add(
                    "plan.reason: expected a rejection reason matching /"
                        + p.pattern()
                        + "/, got "
                        + (reasons.isEmpty() ? "none" : quote(String.join("; ", reasons))));
              }
            });
    expect
        .steps()
        .ifPresent(
            steps -> {
              List<String> want = steps.stream().map(EvalJudge::shape).toList();
              List<String> got = new ArrayList<>();
              List<JsonNode> proposed = planSteps(plan);
              for (int i = 0; i < proposed.size(); i++) {
                // a step's ref is compared only where the expectation names one
                got.add(shape(proposed.get(i), i < steps.size() && steps.get(i).ref().isPresent()));
              }
              if (!want.equals(got)) {
                failures.add(
                    "plan.steps: expected "
                        + (want.isEmpty() ? "none" : String.join(" ; ", want))
                        + ", got "
                        + (got.isEmpty() ? "none" : String.join(" ; ", got)));
              }
            });
  }

  /** The plan's steps: the normalized ones, or those the planner proposed when it was rejected. */
  static List<JsonNode> planSteps(JsonNode plan) {
    List<JsonNode> steps = new ArrayList<>();
    plan.path("steps").forEach(steps::add);
    if (steps.isEmpty() && plan.path("raw_plan").isTextual()) {
      try {
        Json.LENIENT.readTree(plan.path("raw_plan").asText()).path("steps").forEach(steps::add);
      } catch (java.io.IOException | RuntimeException e) {
        // a raw plan that is not JSON has no shape to show
      }
    }
    return steps;
  }

  private static String shape(EvalSuite.StepShape s) {
    return shape(s.ref().orElse(null), s.agent(), s.skills(), s.dependsOn());
  }

  private static String shape(JsonNode step, boolean withRef) {
    List<String> skills = new ArrayList<>();
    step.path("skills").forEach(k -> skills.add(k.asText()));
    List<String> deps = new ArrayList<>();
    step.path("depends_on").forEach(d -> deps.add(d.asText()));
    return shape(
        withRef ? step.path("step_ref").asText(null) : null,
        step.path("agent").asText(),
        skills,
        deps);
  }

  /** "ref: agent [skills] after [deps]", the ref only when the expectation names one. */
  private static String shape(String ref, String agent, List<String> skills, List<String> deps) {
    return (ref == null ? "" : ref + ": ")
        + agent
        + " "
        + skills
        + (deps.isEmpty() ? "" : " after " + deps);
  }

  // --- gates --------------------------------------------------------------------------------

  private static void gate(EvalSuite.GateExpect g, JsonNode gates, List<String> failures) {
    List<JsonNode> matching = new ArrayList<>();
    gates.forEach(
        gate -> {
          if (matches(g, gate)) {
            matching.add(gate);
          }
        });
    if (g.absent() && !matching.isEmpty()) {
      failures.add("gates: expected no gate " + describe(g) + ", got " + gate(matching.get(0)));
    } else if (!g.absent() && matching.isEmpty()) {
      List<String> seen = new ArrayList<>();
      gates.forEach(x -> seen.add(gate(x)));
      failures.add(
          "gates: expected a gate "
              + describe(g)
              + ", got "
              + (seen.isEmpty() ? "no gates" : String.join(" ; ", seen)));
    }
  }

  private static boolean matches(EvalSuite.GateExpect g, JsonNode gate) {
    return g.action().map(a -> a.equals(gate.path("action").asText())).orElse(true)
        && g.status().map(s -> s.equals(gate.path("status").asText())).orElse(true)
        && g.skill().map(s -> s.equals(gate.path("skill").asText())).orElse(true)
        && g.subject().map(s -> s.equals(gate.path("subject").asText())).orElse(true)
        && g.reason().map(p -> p.matcher(gate.path("reason").asText("")).find()).orElse(true);
  }

  private static String describe(EvalSuite.GateExpect g) {
    List<String> parts = new ArrayList<>();
    g.action().ifPresent(a -> parts.add("action " + a));
    g.status().ifPresent(s -> parts.add("status " + s));
    g.skill().ifPresent(s -> parts.add("skill " + s));
    g.subject().ifPresent(s -> parts.add("subject " + s));
    g.reason().ifPresent(p -> parts.add("reason /" + p.pattern() + "/"));
    return "{" + String.join(", ", parts) + "}";
  }

  private static String gate(JsonNode gate) {
    return gate.path("status").asText()
        + " "
        + gate.path("action").asText()
        + (gate.path("skill").isTextual() ? " " + gate.path("skill").asText() : "")
        + " ("
        + gate.path("subject").asText()
        + "): "
        + clip(gate.path("reason").asText(""), 200);
  }

  // --- output -------------------------------------------------------------------------------

  /**
   * What the run delivered, as text: the result's summary, every string in its output, and the
   * run's error — everything a requester would see.
   */
  static String deliveredText(JsonNode story) {
    StringBuilder text = new StringBuilder();
    JsonNode result = story.path("result");
    if (result.path("summary").isTextual()) {
      text.append(result.path("summary").asText()).append('\n');
    }
    strings(result.path("output"), text);
    if (story.path("error").isTextual()) {
      text.append(story.path("error").asText()).append('\n');
    }
    return text.toString();
  }

  private static void strings(JsonNode node, StringBuilder into) {
    if (node.isTextual()) {
      into.append(node.asText()).append('\n');
    } else if (node.isContainerNode()) {
      node.forEach(n -> strings(n, into));
    }
  }

  private static void output(
      EvalSuite.OutputExpect o, String text, JsonNode output, List<String> failures) {
    switch (o) {
      case EvalSuite.OutputExpect.Contains c -> {
        if (!text.contains(c.text())) {
          failures.add("output: expected to contain " + quote(c.text()) + ", got " + quote(text));
        }
      }
      case EvalSuite.OutputExpect.NotContains c -> {
        if (text.contains(c.text())) {
          failures.add(
              "output: expected not to contain " + quote(c.text()) + ", got " + quote(text));
        }
      }
      case EvalSuite.OutputExpect.Matches m -> {
        if (!m.pattern().matcher(text).find()) {
          failures.add("output: expected to match /" + m.pattern() + "/, got " + quote(text));
        }
      }
      case EvalSuite.OutputExpect.NotMatches m -> {
        if (m.pattern().matcher(text).find()) {
          failures.add("output: expected not to match /" + m.pattern() + "/, got " + quote(text));
        }
      }
      case EvalSuite.OutputExpect.PathEquals p -> {
        JsonNode at = output.at(p.path());
        if (!numericallyEqual(p.value(), at)) {
          failures.add(
              "output "
                  + p.path()
                  + ": expected "
                  + Json.write(p.value())
                  + ", got "
                  + (at.isMissingNode() ? "nothing there" : clip(Json.write(at), 500)));
        }
      }
    }
  }

  private static boolean numericallyEqual(JsonNode want, JsonNode got) {
    if (want.isNumber() && got.isNumber()) {
      return want.decimalValue().compareTo(got.decimalValue()) == 0;
    }
    return want.equals(got);
  }

  // --- what the run showed --------------------------------------------------------------------

  /** What a verdict records of a run: its status, error, plan shape, gates and delivered text. */
  static ObjectNode actual(JsonNode story) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    ObjectNode a = f.objectNode();
    if (story == null || story.isMissingNode()) {
      return a;
    }
    a.put("status", story.path("status").asText(null));
    a.put("error", clipOrNull(story.path("error").asText(null)));
    JsonNode plan = story.path("plan");
    if (plan.isObject()) {
      ObjectNode p = a.putObject("plan");
      p.put("status", plan.path("status").asText());
      ArrayNode steps = p.putArray("steps");
      for (JsonNode s : planSteps(plan)) {
        ObjectNode v = steps.addObject();
        v.put("ref", s.path("step_ref").asText(null));
        v.put("agent", s.path("agent").asText(null));
        v.set("skills", s.path("skills").isArray() ? s.path("skills") : f.arrayNode());
        v.set("depends_on", s.path("depends_on").isArray() ? s.path("depends_on") : f.arrayNode());
      }
      ArrayNode reasons = p.putArray("rejection_reasons");
      plan.path("rejection_reasons").forEach(r -> reasons.add(clip(r.asText(), 500)));
    } else {
      a.putNull("plan");
    }
    ArrayNode gates = a.putArray("gates");
    for (JsonNode g : story.path("gates")) {
      if (gates.size() == MAX_GATES) {
        break;
      }
      ObjectNode v = gates.addObject();
      v.put("action", g.path("action").asText(null));
      v.put("status", g.path("status").asText(null));
      v.put("skill", g.path("skill").asText(null));
      v.put("subject", g.path("subject").asText(null));
      v.put("reason", clip(g.path("reason").asText(""), 500));
    }
    a.put("delivered", clip(deliveredText(story), MAX_TEXT));
    return a;
  }

  private static ArrayNode strings(List<String> list) {
    ArrayNode a = JsonNodeFactory.instance.arrayNode();
    list.forEach(s -> a.add(clip(s, MAX_TEXT)));
    return a;
  }

  private static String errorSuffix(String error) {
    return error == null ? "" : " (" + clip(error, 300) + ")";
  }

  private static String quote(String text) {
    return "\"" + clip(text.strip(), 300).replace("\n", "\\n") + "\"";
  }

  private static String clipOrNull(String s) {
    return s == null ? null : clip(s, MAX_TEXT);
  }

  static String clip(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }
}
