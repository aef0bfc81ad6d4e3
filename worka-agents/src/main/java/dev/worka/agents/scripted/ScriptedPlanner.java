package dev.worka.agents.scripted;

import dev.worka.protocol.Plan;
import dev.worka.protocol.PlanStep;
import java.util.List;

/**
 * The scripted planner: one fixed plan per request form, and an "answer" step for everything else.
 * It plans what was asked even when the policy will not allow it (deleting a repository, for one):
 * refusing is the Gateway's job, and a refusal the Gateway records is worth more than one the
 * planner quietly makes.
 */
final class ScriptedPlanner {
  /** Longest request text echoed into an answer objective (the schema allows 4000 characters). */
  static final int MAX_ECHO = 3000;

  static final String DEFAULT_ISSUE_TITLE = "Thread summary";

  private ScriptedPlanner() {}

  static Plan plan(String requestText) {
    return switch (Phrases.read(requestText)) {
      case Intent.OpenIssue issue -> {
        String repo = issue.owner() + "/" + issue.repo();
        yield new Plan(
            "File an issue titled " + Phrases.quote(issue.title()) + " in " + repo + ".",
            List.of(
                step(
                    "file",
                    Skills.ERNEST,
                    openIssueObjective(repo, issue.title())
                        + (issue.body() != null ? " with body " + issue.body() : "")
                        + (issue.bodyFromStep() != null
                            ? " with the summary of step " + issue.bodyFromStep()
                            : ""),
                    Skills.CREATE_ISSUE)));
      }
      case Intent.CommentOnIssue comment -> {
        String issue = comment.owner() + "/" + comment.repo() + "#" + comment.issueNumber();
        yield new Plan(
            "Comment on " + issue + ".",
            List.of(
                step(
                    "comment",
                    Skills.ERNEST,
                    "Comment on " + issue + ": " + comment.text(),
                    Skills.ADD_ISSUE_COMMENT)));
      }
      case Intent.DeleteRepository delete -> {
        String repo = delete.owner() + "/" + delete.repo();
        yield new Plan(
            "Delete the repository " + repo + ".",
            List.of(
                step(
                    "delete",
                    Skills.ERNEST,
                    "Delete the repository " + repo,
                    Skills.DELETE_REPOSITORY)));
      }
      case Intent.SummarizeThread summarize ->
          new Plan("Summarize the Slack thread.", List.of(readThreadStep()));
      case Intent.SummarizeThreadIntoIssue both -> {
        String repo = both.owner() + "/" + both.repo();
        String title = both.title() != null ? both.title() : DEFAULT_ISSUE_TITLE;
        yield new Plan(
            "Summarize the Slack thread and file the summary as an issue in " + repo + ".",
            List.of(
                readThreadStep(),
                new PlanStep(
                    "file",
                    Skills.ERNEST,
                    openIssueObjective(repo, title) + " with the summary of step read",
                    List.of(Skills.CREATE_ISSUE),
                    List.of("read"))));
      }
      case Intent.Answer answer -> answerPlan(requestText);
      case Intent.Unrecognized unrecognized -> answerPlan(requestText);
    };
  }

  private static String openIssueObjective(String repo, String title) {
    return "Open an issue in " + repo + " titled " + Phrases.quote(title);
  }

  private static PlanStep readThreadStep() {
    return step("read", Skills.DANEEL, "Summarize this thread", Skills.READ_THREAD);
  }

  private static Plan answerPlan(String requestText) {
    String text =
        requestText == null || requestText.isBlank() ? "(an empty request)" : requestText.strip();
    if (text.codePointCount(0, text.length()) > MAX_ECHO) {
      text = text.substring(0, text.offsetByCodePoints(0, MAX_ECHO)) + "…";
    }
    return new Plan(
        "Reply to a request the scripted model does not recognize as one of its actions.",
        List.of(new PlanStep("answer", Skills.DANEEL, "Answer: " + text, List.of(), List.of())));
  }

  private static PlanStep step(String ref, String agent, String objective, String skill) {
    return new PlanStep(ref, agent, objective, List.of(skill), List.of());
  }
}
