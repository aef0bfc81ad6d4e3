package dev.worka.agents.scripted;

import dev.worka.agents.model.Model;
import dev.worka.agents.model.Move;
import dev.worka.agents.model.SkillExchange;
import dev.worka.protocol.Plan;
import dev.worka.protocol.StepEnvelope;
import java.util.List;

/**
 * Worka's offline model: deterministic, no network, and <strong>not AI</strong>. It recognizes a
 * handful of fixed phrasings (listed in {@code Phrases}) and maps each to a fixed plan or a single
 * skill call; anything else gets a plan with one step that replies, honestly, that the request is
 * not one it understands. It exists so Worka can be run, tested and demonstrated end to end without
 * a model provider, and so the security model (plans are proposals, skills are asked for, the
 * Gateway decides) can be watched with repeatable inputs.
 */
public final class ScriptedModel implements Model {

  public ScriptedModel() {}

  @Override
  public Plan plan(StepEnvelope step) {
    String text =
        step.request() != null && step.request().text() != null
            ? step.request().text()
            : step.objective();
    return ScriptedPlanner.plan(text);
  }

  @Override
  public Move next(StepEnvelope step, List<SkillExchange> transcript) {
    return ScriptedWorker.next(step, transcript);
  }
}
