package dev.worka.agents.scripted;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.worka.protocol.Plan;
import dev.worka.protocol.PlanStep;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScriptedPlannerTest {
  private final ScriptedModel model = new ScriptedModel();

  private Plan plan(String request) {
    return model.plan(Envelopes.planning(request));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "open an issue in acme/widgets titled Fix the login bug",
        "Open an issue in acme/widgets titled 'Fix the login bug'",
        "open an issue in acme/widgets titled \"Fix the login bug\".",
        "create an issue in acme/widgets titled “Fix the login bug”",
        "CREATE AN ISSUE IN acme/widgets TITLED ‘Fix the login bug’!",
        "open a new issue on acme/widgets, titled: Fix the login bug.",
        "<@U0WORKA> please open an issue in acme/widgets titled Fix the login bug",
        "@worka file an issue in `acme/widgets` called \"Fix the login bug\"",
        "  open   an  issue in acme/widgets titled Fix the login bug  ",
      })
  void opensAnIssue(String request) {
    assertEquals(
        new Plan(
            "File an issue titled 'Fix the login bug' in acme/widgets.",
            List.of(
                new PlanStep(
                    "file",
                    "ernest",
                    "Open an issue in acme/widgets titled 'Fix the login bug'",
                    List.of("github.create_issue"),
                    List.of()))),
        plan(request));
  }

  @Test
  void opensAnIssueWithABody() {
    assertEquals(
        "Open an issue in acme/widgets titled 'Crash on start' with body It crashes when started"
            + " offline.",
        plan("open an issue in acme/widgets titled \"Crash on start\" with body It crashes when"
                + " started offline.")
            .steps()
            .get(0)
            .objective());
    assertEquals(
        "Open an issue in acme/widgets titled 'Crash on start' with body it crashes",
        plan("Open an issue in acme/widgets titled Crash on start saying “it crashes”")
            .steps()
            .get(0)
            .objective());
  }

  @Test
  void quotesATitleWithAnApostropheInDoubleQuotes() {
    assertEquals(
        "Open an issue in acme/widgets titled \"Don't crash on start\"",
        plan("open an issue in acme/widgets titled Don't crash on start")
            .steps()
            .get(0)
            .objective());
  }

  @Test
  void keepsQuestionAndExclamationMarksOfAnUnquotedTitle() {
    assertEquals(
        "Open an issue in acme/widgets titled 'Why does it crash?'",
        plan("open an issue in acme/widgets titled Why does it crash?").steps().get(0).objective());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "comment on acme/widgets#12: Thanks, fixed in 1.2!",
        "Comment on acme/widgets#12 saying Thanks, fixed in 1.2!",
        "comment on acme/widgets#12: \"Thanks, fixed in 1.2!\"",
        "add a comment to acme/widgets#12: Thanks, fixed in 1.2!",
      })
  void commentsOnAnIssue(String request) {
    assertEquals(
        new Plan(
            "Comment on acme/widgets#12.",
            List.of(
                new PlanStep(
                    "comment",
                    "ernest",
                    "Comment on acme/widgets#12: Thanks, fixed in 1.2!",
                    List.of("github.add_issue_comment"),
                    List.of()))),
        plan(request));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "summarize this thread",
        "Summarize this thread.",
        "summarise the thread!",
        "SUMMARIZE THIS THREAD?"
      })
  void summarizesAThread(String request) {
    assertEquals(
        new Plan(
            "Summarize the Slack thread.",
            List.of(
                new PlanStep(
                    "read",
                    "daneel",
                    "Summarize this thread",
                    List.of("slack.read_thread"),
                    List.of()))),
        plan(request));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "summarize this thread and file it as an issue in acme/widgets",
        "Summarize this thread and file the summary as an issue in acme/widgets.",
        "summarize the thread, and file it as a new issue in acme/widgets",
      })
  void summarizesAThreadIntoAnIssue(String request) {
    assertEquals(
        new Plan(
            "Summarize the Slack thread and file the summary as an issue in acme/widgets.",
            List.of(
                new PlanStep(
                    "read",
                    "daneel",
                    "Summarize this thread",
                    List.of("slack.read_thread"),
                    List.of()),
                new PlanStep(
                    "file",
                    "ernest",
                    "Open an issue in acme/widgets titled 'Thread summary' with the summary of step"
                        + " read",
                    List.of("github.create_issue"),
                    List.of("read")))),
        plan(request));
  }

  @Test
  void summarizesAThreadIntoAnIssueWithATitle() {
    assertEquals(
        "Open an issue in acme/docs titled 'Weekly sync' with the summary of step read",
        plan("summarize this thread and file it as an issue in acme/docs titled “Weekly sync”.")
            .steps()
            .get(1)
            .objective());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "delete the repository acme/widgets",
        "Delete repo acme/widgets!",
        "please delete the repo 'acme/widgets'.",
      })
  void plansTheDangerousDeletionAndLeavesTheRefusalToTheGateway(String request) {
    Plan plan = plan(request);
    assertEquals(
        new Plan(
            "Delete the repository acme/widgets.",
            List.of(
                new PlanStep(
                    "delete",
                    "ernest",
                    "Delete the repository acme/widgets",
                    List.of("github.delete_repository"),
                    List.of()))),
        plan);
    // The planning context does not offer the skill to ernest; the planner plans it anyway.
    assertFalse(
        Envelopes.PLANNING.agents().stream()
            .anyMatch(agent -> agent.skills().contains("github.delete_repository")));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "What's the weather in Lisbon?",
        "open an issue in acme/widgets",
        "comment on acme/widgets: nice",
        "delete everything",
        "summarize this thread and file it as an issue in acme/widgets with body x",
      })
  void answersAnythingElse(String request) {
    assertEquals(
        new Plan(
            "Reply to a request the scripted model does not recognize as one of its actions.",
            List.of(new PlanStep("answer", "daneel", "Answer: " + request, List.of(), List.of()))),
        plan(request));
  }

  @Test
  void answersAnEmptyRequest() {
    assertEquals("Answer: (an empty request)", plan("   ").steps().get(0).objective());
  }

  @Test
  void keepsALongRequestWithinTheObjectiveLimit() {
    String objective = plan("x".repeat(10_000)).steps().get(0).objective();
    assertEquals("Answer: " + "x".repeat(ScriptedPlanner.MAX_ECHO) + "…", objective);
  }
}
