package dev.worka.agents.scripted;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.worka.protocol.PlanStep;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PhrasesTest {

  @Test
  void readsTitleAndBody() {
    assertEquals(
        new Intent.OpenIssue("acme", "widgets", "Crash", "it crashes. Often!", null),
        Phrases.read("open an issue in acme/widgets titled Crash with body it crashes. Often!"));
  }

  @Test
  void aQuotedTitleMayContainTheBodyKeywords() {
    assertEquals(
        new Intent.OpenIssue("acme", "widgets", "Parse 'with body' text", "details", null),
        Phrases.read(
            "open an issue in acme/widgets titled \"Parse 'with body' text\" with body details"));
  }

  @Test
  void takesFreeTextFromTheOriginalIncludingCurlyQuotesInside() {
    assertEquals(
        new Intent.CommentOnIssue("acme", "widgets", 3, "I “love” it"),
        Phrases.read("comment on acme/widgets#3: I “love” it"));
  }

  @Test
  void keepsTheCaseOfOwnerAndRepo() {
    assertEquals(
        new Intent.DeleteRepository("Acme-Corp", "My.Repo_2"),
        Phrases.read("DELETE THE REPOSITORY Acme-Corp/My.Repo_2."));
  }

  @Test
  void readsTheObjectiveOfADependentIssueStep() {
    assertEquals(
        new Intent.OpenIssue("acme", "widgets", "Thread summary", null, "read"),
        Phrases.read(
            "Open an issue in acme/widgets titled 'Thread summary' with the summary of step read"));
  }

  @Test
  void readsAnswerObjectives() {
    assertEquals(new Intent.Answer("what is 2 + 2?"), Phrases.read("Answer: what is 2 + 2?"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "open an issue in acme/widgets titled Fix the login bug",
        "open an issue in acme/widgets titled Don't crash",
        "open an issue in acme/widgets titled Say \"hi\" and don't crash",
        "open an issue in acme/widgets titled \"Crash\" saying it crashes: always.",
        "comment on acme/widgets#12: Line one\nline two",
        "delete the repository acme/widgets",
        "summarize this thread",
      })
  void aWorkerReadsBackWhatThePlannerWrote(String request) {
    PlanStep step = ScriptedPlanner.plan(request).steps().get(0);
    assertEquals(Phrases.read(request), Phrases.read(step.objective()));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "hello",
        "open an issue",
        "comment on acme/widgets#0: x",
        "delete acme/widgets"
      })
  void readsAnythingElseAsUnrecognized(String text) {
    assertInstanceOf(Intent.Unrecognized.class, Phrases.read(text));
  }
}
