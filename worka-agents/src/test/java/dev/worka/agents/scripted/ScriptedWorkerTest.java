package dev.worka.agents.scripted;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.agents.model.Move;
import dev.worka.agents.model.SkillExchange;
import dev.worka.protocol.DependencyOutput;
import dev.worka.protocol.Json;
import dev.worka.protocol.RequestContext;
import dev.worka.protocol.StepEnvelope;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScriptedWorkerTest {
  private final ScriptedModel model = new ScriptedModel();

  private static JsonNode json(String text) {
    try {
      return Json.LENIENT.readTree(text);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }

  private static ObjectNode object(String text) {
    return (ObjectNode) json(text);
  }

  private static StepEnvelope ernest(String objective, List<DependencyOutput> dependencies) {
    return Envelopes.worker(
        "ernest",
        objective,
        Envelopes.apiRequest("open an issue in acme/widgets titled Fix it"),
        List.of("github.create_issue", "github.add_issue_comment"),
        dependencies);
  }

  @Test
  void opensAnIssueWithAFallbackBody() {
    Move move =
        model.next(ernest("Open an issue in acme/widgets titled 'Fix it'", List.of()), List.of());
    assertEquals(
        new Move.CallSkill(
            "github.create_issue",
            object(
                """
                {"owner": "acme", "repo": "widgets", "title": "Fix it",
                 "body": "Filed by Worka for the request: open an issue in acme/widgets titled Fix it"}
                """)),
        move);
  }

  @Test
  void opensAnIssueWithTheBodyOfTheObjective() {
    Move move =
        model.next(
            ernest(
                "Open an issue in acme/widgets titled 'Fix it' with body See the logs.", List.of()),
            List.of());
    assertEquals("See the logs.", ((Move.CallSkill) move).input().path("body").asText());
  }

  @Test
  void opensAnIssueWithTheSummaryOfTheStepItDependsOn() {
    var read =
        new DependencyOutput(
            "step-read",
            "read",
            "daneel",
            "a short summary",
            json("{\"summary\": \"Slack thread with 3 messages.\", \"messages\": 3}"));
    var other = new DependencyOutput("step-x", "other", "daneel", "unrelated", null);
    Move move =
        model.next(
            ernest(
                "Open an issue in acme/widgets titled 'Thread summary' with the summary of step"
                    + " read",
                List.of(other, read)),
            List.of());
    assertEquals(
        "Slack thread with 3 messages.", ((Move.CallSkill) move).input().path("body").asText());

    Move withoutRef =
        model.next(ernest("Open an issue in acme/widgets titled 'T'", List.of(other)), List.of());
    assertEquals("unrelated", ((Move.CallSkill) withoutRef).input().path("body").asText());
  }

  @Test
  void reportsTheIssueOnceTheGatewayHasOpenedIt() {
    JsonNode upstream =
        json("{\"number\": 7, \"html_url\": \"https://github.com/acme/widgets/issues/7\"}");
    Move move =
        model.next(
            ernest("Open an issue in acme/widgets titled 'Fix it'", List.of()),
            List.of(
                new SkillExchange("github.create_issue", json("{}"), "inv-1", upstream, false)));
    Move.Finish finish = assertInstanceOf(Move.Finish.class, move);
    assertEquals(
        "Opened issue 'Fix it' in acme/widgets: https://github.com/acme/widgets/issues/7",
        finish.summary());
    assertEquals(
        json(
            """
            {"skill": "github.create_issue", "invocation_id": "inv-1",
             "upstream": {"number": 7, "html_url": "https://github.com/acme/widgets/issues/7"}}
            """),
        finish.output());
  }

  @Test
  void saysWhenTheGatewayOnlyPretended() {
    Move move =
        model.next(
            ernest("Open an issue in acme/widgets titled 'Fix it'", List.of()),
            List.of(
                new SkillExchange(
                    "github.create_issue",
                    json("{}"),
                    "inv-1",
                    json("{\"dry_run\": true}"),
                    false)));
    assertEquals(
        "Opened issue 'Fix it' in acme/widgets (dry run: not sent to GitHub)",
        ((Move.Finish) move).summary());
  }

  @Test
  void commentsOnAnIssue() {
    Move move = model.next(ernest("Comment on acme/widgets#12: Thanks!", List.of()), List.of());
    assertEquals(
        new Move.CallSkill(
            "github.add_issue_comment",
            object(
                "{\"owner\": \"acme\", \"repo\": \"widgets\", \"issue_number\": 12, \"body\":"
                    + " \"Thanks!\"}")),
        move);
  }

  @Test
  void asksToDeleteTheRepositoryAsPlanned() {
    Move move = model.next(ernest("Delete the repository acme/widgets", List.of()), List.of());
    assertEquals(
        new Move.CallSkill(
            "github.delete_repository", object("{\"owner\": \"acme\", \"repo\": \"widgets\"}")),
        move);
  }

  @Test
  void readsTheSlackThreadThenSummarizesIt() {
    StepEnvelope step =
        Envelopes.worker(
            "daneel",
            "Summarize this thread",
            Envelopes.slackRequest("summarize this thread"),
            List.of("slack.read_thread"),
            List.of());
    Move first = model.next(step, List.of());
    assertEquals(
        new Move.CallSkill(
            "slack.read_thread",
            object("{\"channel\": \"C0123\", \"ts\": \"1712345678.000100\", \"limit\": 100}")),
        first);

    JsonNode thread =
        json(
            """
            {"ok": true, "messages": [
              {"user": "U1", "text": "Deploy failed on prod\\nlogs attached", "ts": "1"},
              {"user": "U2", "text": "Looking, <@U1>", "ts": "2"},
              {"user": "U1", "text": "Rolled back.", "ts": "3"}]}
            """);
    Move.Finish finish =
        assertInstanceOf(
            Move.Finish.class,
            model.next(
                step,
                List.of(
                    new SkillExchange("slack.read_thread", json("{}"), "inv-2", thread, false))));
    String summary =
        "Slack thread with 3 messages from 2 participants (U1, U2). It starts: \"Deploy failed on"
            + " prod\". The last message, from U1: \"Rolled back.\".";
    assertEquals(summary, finish.summary());
    assertEquals(
        json(
            """
            {"summary": "%s", "messages": 3, "participants": ["U1", "U2"], "source": "slack",
             "channel": "C0123", "thread_ts": "1712345678.000100"}
            """
                .formatted(summary.replace("\"", "\\\""))),
        finish.output());
  }

  @Test
  void quotesAtMostFiveHundredCharactersAndDefusesMentions() {
    StepEnvelope step =
        Envelopes.worker(
            "daneel",
            "Summarize this thread",
            Envelopes.slackRequest("x"),
            List.of("slack.read_thread"),
            List.of());
    String longText = "<@U9> " + "y".repeat(600);
    JsonNode thread =
        Json.LENIENT
            .createObjectNode()
            .put("dry_run", true)
            .set(
                "messages",
                Json.LENIENT
                    .createArrayNode()
                    .add(Json.LENIENT.createObjectNode().put("user", "U9").put("text", longText)));
    String summary =
        ((Move.Finish)
                model.next(
                    step,
                    List.of(
                        new SkillExchange("slack.read_thread", json("{}"), "i", thread, false))))
            .summary();
    String quoted = "@U9 " + "y".repeat(495) + "…";
    assertEquals(
        "Slack thread with 1 message from 1 participant (U9). It starts: \""
            + quoted
            + "\". (Dry run: these may not be the thread's real messages.)",
        summary);
  }

  @Test
  void doesNotReadAThreadWhenTheRequestDidNotComeFromOne() {
    StepEnvelope step =
        Envelopes.worker(
            "daneel",
            "Summarize this thread",
            Envelopes.apiRequest("summarize this thread"),
            List.of("slack.read_thread"),
            List.of());
    Move.Finish finish = assertInstanceOf(Move.Finish.class, model.next(step, List.of()));
    String summary =
        "This request came from the HTTP API, not a Slack thread, so there was no thread to read."
            + " The request was: summarize this thread";
    assertEquals(summary, finish.summary());
    assertEquals(
        json("{\"summary\": \"" + summary + "\", \"messages\": 0, \"source\": \"api\"}"),
        finish.output());
  }

  @Test
  void answersHonestlyThatItIsNotAI() {
    StepEnvelope step =
        Envelopes.worker(
            "daneel",
            "Answer: What's the weather in Lisbon?",
            Envelopes.apiRequest("What's the weather in Lisbon?"),
            List.of(),
            List.of());
    Move.Finish finish = assertInstanceOf(Move.Finish.class, model.next(step, List.of()));
    assertTrue(
        finish.summary().startsWith("This is Worka's offline scripted model, which is not AI"));
    assertTrue(finish.summary().contains("\"summarize this thread\""));
    assertTrue(finish.summary().endsWith("So it cannot answer \"What's the weather in Lisbon?\"."));
    assertEquals(finish.summary(), finish.output().path("answer").asText());
  }

  @Test
  void givesUpOnObjectivesItDoesNotUnderstand() {
    Move move = model.next(ernest("Refactor the build", List.of()), List.of());
    Move.GiveUp giveUp = assertInstanceOf(Move.GiveUp.class, move);
    assertTrue(
        giveUp
            .error()
            .startsWith(
                "The offline scripted model (not AI) does not understand the objective \"Refactor"
                    + " the build\""));
  }

  @Test
  void isDeterministic() {
    StepEnvelope step =
        Envelopes.planning("summarize this thread and file it as an issue in acme/widgets");
    assertEquals(model.plan(step), new ScriptedModel().plan(step));
    RequestContext none = null;
    StepEnvelope worker =
        Envelopes.worker("daneel", "Summarize this thread", none, List.of(), List.of());
    assertEquals(model.next(worker, List.of()), new ScriptedModel().next(worker, List.of()));
  }
}
