package dev.worka.agents.model;

import dev.worka.protocol.Plan;
import dev.worka.protocol.StepEnvelope;
import java.util.List;

/**
 * Decides what an agent does. Implementations are deterministic or not, local or remote, but never
 * trusted: a plan is a proposal the Gateway validates, and a move is a request the Gateway may
 * deny.
 */
public interface Model {

  /** Proposes a plan for the request of a planning step ({@code step.request().text()}). */
  Plan plan(StepEnvelope step);

  /**
   * Chooses a worker step's next move, given its envelope and the skill calls already made in this
   * attempt, oldest first (empty on the first turn).
   */
  Move next(StepEnvelope step, List<SkillExchange> transcript);
}
