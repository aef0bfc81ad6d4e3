package dev.worka.agents.scripted;

import dev.worka.protocol.DependencyOutput;
import dev.worka.protocol.PlanningContext;
import dev.worka.protocol.RequestContext;
import dev.worka.protocol.SkillSpec;
import dev.worka.protocol.StepEnvelope;
import java.util.List;

/** Step envelopes as the Gateway would send them, for the scripted model's tests. */
final class Envelopes {
  static final PlanningContext PLANNING =
      new PlanningContext(
          List.of(
              new PlanningContext.AgentOffer(
                  "ernest",
                  "GitHub worker",
                  List.of("github.create_issue", "github.add_issue_comment")),
              new PlanningContext.AgentOffer(
                  "daneel", "Slack worker", List.of("slack.read_thread"))),
          8);

  private Envelopes() {}

  static StepEnvelope planning(String requestText) {
    return new StepEnvelope(
        "run-1",
        "step-plan",
        "plan",
        1,
        "hari",
        StepEnvelope.ROLE_PLANNER,
        "Plan the request",
        new RequestContext(requestText, "api", "alice", null, null),
        List.of(),
        List.of(),
        List.of(),
        null,
        PLANNING);
  }

  static StepEnvelope worker(
      String agent,
      String objective,
      RequestContext request,
      List<String> skills,
      List<DependencyOutput> dependencies) {
    return new StepEnvelope(
        "run-1",
        "step-1",
        "step",
        1,
        agent,
        StepEnvelope.ROLE_WORKER,
        objective,
        request,
        skills.stream().map(s -> new SkillSpec(s, s, null, true)).toList(),
        dependencies,
        List.of(),
        null,
        null);
  }

  static RequestContext apiRequest(String text) {
    return new RequestContext(text, "api", "alice", null, null);
  }

  static RequestContext slackRequest(String text) {
    return new RequestContext(text, "slack", "U0ALICE", "C0123", "1712345678.000100");
  }
}
