package dev.worka.gateway.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;

/**
 * The facts a skill condition ({@code when}, DESIGN §7) is evaluated over: the call's input and
 * what the Gateway knows about the run and the step making it. Every fact comes from the Gateway's
 * own records (the token's step, the run row), never from the request body, except {@code input}.
 *
 * <p>An absent string fact is {@code ""} (a run from the API has no Slack channel, so {@code
 * run.slack_channel} is empty there), and absent skills are an empty list: a condition never sees a
 * missing fact as an error.
 *
 * @param input the skill call's input object, as the agent sent it (validated against the skill's
 *     input schema first); a condition sees it as the CEL variable {@code input}
 * @param run the run, the CEL variable {@code run}
 * @param step the step, the CEL variable {@code step}; its {@code agent} is also {@code agent.name}
 */
public record ConditionContext(JsonNode input, Run run, Step step) {

  public ConditionContext {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(step, "step");
  }

  /**
   * The run's facts: {@code run.id}, {@code run.source} ({@code slack}, {@code github}, {@code
   * api}, {@code cli}), {@code run.text}, {@code run.requester}, {@code run.slack_channel}, {@code
   * run.slack_thread_ts}.
   */
  public record Run(
      String id,
      String source,
      String text,
      String requester,
      String slackChannel,
      String slackThreadTs) {
    public Run {
      id = orEmpty(id);
      source = orEmpty(source);
      text = orEmpty(text);
      requester = orEmpty(requester);
      slackChannel = orEmpty(slackChannel);
      slackThreadTs = orEmpty(slackThreadTs);
    }
  }

  /**
   * The step's facts: {@code step.id}, {@code step.step_ref}, {@code step.agent} and {@code
   * step.skills} (the step's accepted skills).
   */
  public record Step(String id, String stepRef, String agent, List<String> skills) {
    public Step {
      id = orEmpty(id);
      stepRef = orEmpty(stepRef);
      agent = orEmpty(agent);
      skills = skills == null ? List.of() : skills.stream().map(ConditionContext::orEmpty).toList();
    }
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
