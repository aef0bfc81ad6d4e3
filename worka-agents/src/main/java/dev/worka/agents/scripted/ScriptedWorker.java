package dev.worka.agents.scripted;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.agents.model.Move;
import dev.worka.agents.model.SkillExchange;
import dev.worka.protocol.DependencyOutput;
import dev.worka.protocol.RequestContext;
import dev.worka.protocol.StepEnvelope;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The scripted worker: reads a step's objective (in the forms the scripted planner writes) and
 * makes at most one skill call for it, then reports. It goes by the objective, not by the agent's
 * name; whether the agent may make that call is for the step's skill list and the Gateway to say.
 */
final class ScriptedWorker {
  static final int THREAD_LIMIT = 100;

  private ScriptedWorker() {}

  static Move next(StepEnvelope step, List<SkillExchange> transcript) {
    String objective = step.objective() == null ? "" : step.objective();
    return switch (Phrases.read(objective)) {
      case Intent.OpenIssue issue -> {
        String repo = issue.owner() + "/" + issue.repo();
        yield callOnceThenReport(
            transcript,
            Skills.CREATE_ISSUE,
            () -> {
              ObjectNode input = object();
              input.put("owner", issue.owner());
              input.put("repo", issue.repo());
              input.put("title", issue.title());
              input.put("body", issueBody(issue, step));
              return input;
            },
            upstream ->
                "Opened issue " + Phrases.quote(issue.title()) + " in " + repo + link(upstream));
      }
      case Intent.CommentOnIssue comment -> {
        String issue = comment.owner() + "/" + comment.repo() + "#" + comment.issueNumber();
        yield callOnceThenReport(
            transcript,
            Skills.ADD_ISSUE_COMMENT,
            () -> {
              ObjectNode input = object();
              input.put("owner", comment.owner());
              input.put("repo", comment.repo());
              input.put("issue_number", comment.issueNumber());
              input.put("body", comment.text());
              return input;
            },
            upstream -> "Commented on " + issue + link(upstream));
      }
      case Intent.DeleteRepository delete ->
          callOnceThenReport(
              transcript,
              Skills.DELETE_REPOSITORY,
              () -> {
                ObjectNode input = object();
                input.put("owner", delete.owner());
                input.put("repo", delete.repo());
                return input;
              },
              upstream -> "Deleted the repository " + delete.owner() + "/" + delete.repo());
      case Intent.SummarizeThread summarize -> summarizeThread(step, transcript);
      case Intent.Answer answer -> answer(answer.question());
      case Intent.SummarizeThreadIntoIssue both -> notUnderstood(objective);
      case Intent.Unrecognized unrecognized -> notUnderstood(objective);
    };
  }

  /**
   * The first turn asks for {@code skill}; once the transcript holds its output, the step finishes
   * with {@code {"skill", "invocation_id", "upstream"}} and the summary {@code report} writes,
   * marked when the Gateway only pretended (dry run).
   */
  private static Move callOnceThenReport(
      List<SkillExchange> transcript,
      String skill,
      Supplier<ObjectNode> input,
      Function<JsonNode, String> report) {
    Optional<SkillExchange> done = lastCall(transcript, skill);
    if (done.isEmpty()) {
      return new Move.CallSkill(skill, input.get());
    }
    SkillExchange exchange = done.get();
    ObjectNode output = object();
    output.put("skill", skill);
    output.put("invocation_id", exchange.invocationId());
    output.set("upstream", exchange.output());
    String summary = report.apply(exchange.output());
    if (isDryRun(exchange.output())) {
      summary += " (dry run: not sent to GitHub)";
    }
    return new Move.Finish(summary, output);
  }

  private static Move summarizeThread(StepEnvelope step, List<SkillExchange> transcript) {
    RequestContext request = step.request();
    String channel = request == null ? null : request.slackChannel();
    String threadTs = request == null ? null : request.slackThreadTs();
    if (isBlank(channel) || isBlank(threadTs)) {
      String source = request == null || isBlank(request.source()) ? "unknown" : request.source();
      String text =
          request == null || isBlank(request.text()) ? "(no text)" : request.text().strip();
      String summary =
          "This request came from "
              + sourceName(source)
              + ", not a Slack thread, so there was no thread to read. The request was: "
              + ThreadSummary.cut(text);
      ObjectNode output = object();
      output.put("summary", summary);
      output.put("messages", 0);
      output.put("source", source);
      return new Move.Finish(summary, output);
    }
    Optional<SkillExchange> read = lastCall(transcript, Skills.READ_THREAD);
    if (read.isEmpty()) {
      ObjectNode input = object();
      input.put("channel", channel);
      input.put("ts", threadTs);
      input.put("limit", THREAD_LIMIT);
      return new Move.CallSkill(Skills.READ_THREAD, input);
    }
    return ThreadSummary.of(read.get().output(), channel, threadTs);
  }

  private static Move answer(String question) {
    String asked = question.isBlank() ? "(an empty request)" : ThreadSummary.cut(question);
    String answer =
        "This is Worka's offline scripted model, which is not AI: it only understands these"
            + " requests: "
            + Phrases.REQUEST_FORMS
            + ". So it cannot answer \""
            + asked
            + "\".";
    ObjectNode output = object();
    output.put("answer", answer);
    return new Move.Finish(answer, output);
  }

  private static Move notUnderstood(String objective) {
    return new Move.GiveUp(
        "The offline scripted model (not AI) does not understand the objective \""
            + ThreadSummary.cut(objective)
            + "\". It understands: "
            + Phrases.OBJECTIVE_FORMS
            + ".");
  }

  /**
   * The issue body: the one the objective gives; else the summaries of the steps this one depends
   * on (the one named by "with the summary of step REF" if it is among them); else a line saying
   * who filed it and why.
   */
  static String issueBody(Intent.OpenIssue issue, StepEnvelope step) {
    if (issue.body() != null) {
      return issue.body();
    }
    List<DependencyOutput> dependencies = step.dependencies();
    if (issue.bodyFromStep() != null) {
      List<DependencyOutput> named =
          dependencies.stream().filter(d -> issue.bodyFromStep().equals(d.stepRef())).toList();
      if (!named.isEmpty()) {
        dependencies = named;
      }
    }
    if (dependencies.size() == 1) {
      return dependencyText(dependencies.get(0));
    }
    if (!dependencies.isEmpty()) {
      return dependencies.stream()
          .map(d -> "From step " + d.stepRef() + ":\n" + dependencyText(d))
          .collect(Collectors.joining("\n\n"));
    }
    RequestContext request = step.request();
    return request == null || isBlank(request.text())
        ? "Filed by Worka."
        : "Filed by Worka for the request: " + request.text().strip();
  }

  private static String dependencyText(DependencyOutput dependency) {
    JsonNode output = dependency.output();
    if (output != null
        && output.path("summary").isTextual()
        && !output.path("summary").asText().isBlank()) {
      return output.path("summary").asText();
    }
    if (!isBlank(dependency.summary())) {
      return dependency.summary();
    }
    if (output != null && !output.isNull() && !output.isMissingNode()) {
      return output.toString();
    }
    return "(step " + dependency.stepRef() + " reported nothing)";
  }

  private static Optional<SkillExchange> lastCall(List<SkillExchange> transcript, String skill) {
    for (int i = transcript.size() - 1; i >= 0; i--) {
      if (transcript.get(i).skill().equals(skill)) {
        return Optional.of(transcript.get(i));
      }
    }
    return Optional.empty();
  }

  /** ": URL" when the upstream output links to what was made (GitHub's {@code html_url}). */
  private static String link(JsonNode upstream) {
    String url = upstream.path("html_url").asText("");
    return url.startsWith("https://") ? ": " + url : "";
  }

  private static boolean isDryRun(JsonNode upstream) {
    return upstream.path("dry_run").asBoolean(false);
  }

  private static String sourceName(String source) {
    return switch (source) {
      case "slack" -> "Slack";
      case "github" -> "GitHub";
      case "api" -> "the HTTP API";
      case "cli" -> "the CLI";
      default -> source;
    };
  }

  private static boolean isBlank(String value) {
    return value == null || value.isBlank();
  }

  private static ObjectNode object() {
    return JsonNodeFactory.instance.objectNode();
  }
}
