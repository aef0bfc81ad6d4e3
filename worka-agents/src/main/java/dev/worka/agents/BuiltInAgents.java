package dev.worka.agents;

import dev.worka.agents.model.Model;
import java.util.Map;

/**
 * The agents {@code bin/worka-agent NAME} can run, by the name the policy manifest declares them
 * under: {@code hari} (planner), {@code ernest} (GitHub worker), {@code daneel} (Slack worker).
 */
final class BuiltInAgents {
  static final String HARI = "hari";
  static final String ERNEST = "ernest";
  static final String DANEEL = "daneel";

  private BuiltInAgents() {}

  static Map<String, Agent> using(Model model) {
    return Map.of(
        HARI, new Hari(model),
        ERNEST, new SkillLoop("Ernest", model),
        DANEEL, new SkillLoop("Daneel", model));
  }
}
