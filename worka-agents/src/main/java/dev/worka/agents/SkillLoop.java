package dev.worka.agents;

import dev.worka.agents.model.Model;
import dev.worka.agents.model.Move;
import dev.worka.agents.model.SkillExchange;
import dev.worka.protocol.SkillCall;
import dev.worka.protocol.SkillSpec;
import dev.worka.protocol.StepEnvelope;
import dev.worka.protocol.StepResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A worker agent: asks its model for the next move, carries it out through the Gateway, and repeats
 * until the model finishes or gives up. Ernest (GitHub) and Daneel (Slack) are both this loop; what
 * tells them apart is the skills the policy lets each have and the objectives the planner gives
 * them.
 *
 * <p>Before a skill is asked for, the loop checks it is one of the step's accepted skills. That is
 * a courtesy, not the control — the Gateway checks again — but it turns a model's mistake into a
 * clear error without a deny gate. A policy denial ends the step as failed, not retryable: asking
 * again gets the same answer.
 */
final class SkillLoop implements Agent {
  /** Most skill calls one attempt makes before it is stopped (the policy may allow fewer). */
  static final int MAX_SKILL_CALLS = 16;

  private final String name;
  private final Model model;

  SkillLoop(String name, Model model) {
    this.name = name;
    this.model = model;
  }

  @Override
  public StepResult run(StepEnvelope step, GatewayClient gateway) {
    Set<String> accepted =
        step.skills().stream().map(SkillSpec::name).collect(Collectors.toUnmodifiableSet());
    List<SkillExchange> transcript = new ArrayList<>();
    while (true) {
      Move move = model.next(step, List.copyOf(transcript));
      switch (move) {
        case Move.Finish finish -> {
          return StepResult.succeeded(finish.summary(), finish.output());
        }
        case Move.GiveUp giveUp -> {
          return StepResult.failed(giveUp.error(), false);
        }
        case Move.CallSkill call -> {
          if (!accepted.contains(call.skill())) {
            return StepResult.failed(
                name
                    + " did not call "
                    + call.skill()
                    + ": it is not one of this step's skills ("
                    + (accepted.isEmpty()
                        ? "none"
                        : String.join(", ", accepted.stream().sorted().toList()))
                    + "), so the plan would have to grant it",
                false);
          }
          if (transcript.size() == MAX_SKILL_CALLS) {
            return StepResult.failed(
                name + " stopped after " + MAX_SKILL_CALLS + " skill calls without finishing",
                false);
          }
          String key = IdempotencyKey.of(step, call.skill(), call.input());
          switch (gateway.callSkill(call.skill(), new SkillCall(call.input(), key))) {
            case SkillOutcome.Output output ->
                transcript.add(
                    new SkillExchange(
                        call.skill(),
                        call.input(),
                        output.result().invocationId(),
                        output.result().output(),
                        output.result().replayed()));
            case SkillOutcome.Denied denied -> {
              return StepResult.failed(call.skill() + " was " + denied.describe(), false);
            }
            case SkillOutcome.Failed failed -> {
              return StepResult.failed(
                  call.skill() + " failed: " + failed.error().describe(),
                  failed.error().retryable());
            }
          }
        }
      }
    }
  }
}
