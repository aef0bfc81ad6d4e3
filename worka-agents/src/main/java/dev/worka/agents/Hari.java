package dev.worka.agents;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.agents.model.Model;
import dev.worka.protocol.Json;
import dev.worka.protocol.Plan;
import dev.worka.protocol.PlanAccepted;
import dev.worka.protocol.StepEnvelope;
import dev.worka.protocol.StepResult;
import java.util.TreeMap;

/**
 * Hari, the planner: asks its model for a plan for the run's request and proposes it with {@code
 * POST /v1/agent/plan}. Hari does not trim the plan to what the policy allows — it does not even
 * look — because deciding is the Gateway's job: an unauthorized plan is rejected there, recorded,
 * and reported back here as the step's failure.
 */
final class Hari implements Agent {
  private final Model model;

  Hari(Model model) {
    this.model = model;
  }

  @Override
  public StepResult run(StepEnvelope step, GatewayClient gateway) {
    Plan plan = model.plan(step);
    return switch (gateway.submitPlan(plan)) {
      case PlanOutcome.Accepted accepted -> {
        int count = plan.steps().size();
        yield StepResult.succeeded(
            "Planned " + count + (count == 1 ? " step: " : " steps: ") + plan.summary(),
            output(accepted.plan()));
      }
      // An earlier attempt of this step had the run's plan accepted, then ended before its result
      // was recorded; the model proposed another one now, which the Gateway refused. The run's plan
      // is the accepted one: the step ends with it.
      case PlanOutcome.Superseded superseded -> {
        int count = superseded.accepted().steps().size();
        yield StepResult.succeeded(
            "Planned "
                + count
                + (count == 1 ? " step" : " steps")
                + " (the plan an earlier attempt had accepted; the one proposed now was refused)",
            output(superseded.accepted()));
      }
      case PlanOutcome.Rejected rejected ->
          StepResult.failed(
              "The Gateway rejected the plan: " + String.join("; ", rejected.violations()), false);
      case PlanOutcome.Denied denied ->
          StepResult.failed("Submitting the plan was " + denied.describe(), false);
      case PlanOutcome.Failed failed ->
          StepResult.failed(
              "The plan could not be submitted: " + failed.error().describe(),
              failed.error().retryable());
    };
  }

  private static ObjectNode output(PlanAccepted plan) {
    ObjectNode output = Json.LENIENT.createObjectNode();
    output.put("plan_id", plan.planId());
    output.put("plan_hash", plan.planHash());
    ObjectNode steps = output.putObject("steps");
    new TreeMap<>(plan.steps()).forEach(steps::put);
    return output;
  }
}
